"""Barcodes, facility codes, proposal codes and courier tracking numbers.

Scanners are keyboards: input is trimmed and case-folded where the format allows, and
nothing is guessed. A mail-in dewar barcode carries an ISO 7064 MOD 37-2 check character
(python-stdnum) computed over the whole code, hyphens included, so one changed character
or two swapped neighbours are refused rather than matched to another dewar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

from stdnum.iso7064 import mod_37_2

from logistics.domain.errors import InvalidBarcode, InvalidValue

# 37 symbols, a prime modulus: every single substitution and every adjacent swap changes
# the checksum. A serial whose check symbol would be the hyphen, or a letter that reads like
# a digit (I, L, O), is never allocated.
_CHECK_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-"
_NEVER_ALLOCATED = "-ILO"

PROPOSAL_RE = re.compile(r"^[a-z]{2}[0-9]{1,6}$")
INSTRUMENT_RE = re.compile(r"^[a-z][a-z0-9]{1,9}(-[0-9])?$")
MAIL_IN_RE = re.compile(
    r"^(?P<proposal>[a-z]{2}[0-9]{1,6})-(?P<visit>[0-9]{1,4})-"
    r"(?P<beamline>[a-z][a-z0-9]{1,9}(?:-[0-9])?)-(?P<serial>[0-9]{7})-(?P<check>[0-9a-z])$"
)
MAIL_IN_FORMAT = "{proposal}-{visit}-{beamline}-{7-digit serial}-{check character}, e.g. mx23694-1-i03-0000001-k"
DEFAULT_FACILITY_CODE_PATTERN = r"DLS-(MX|IN|CY|BI|EM)-[0-9]{4}"
CONTAINER_RE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{2,39}$")
LOCATION_RE = re.compile(r"^loc-[a-z0-9-]{1,56}$")


def scanned(text: str) -> str:
    """What a scanner or a person typed, without surrounding whitespace or control keys."""
    return "".join(ch for ch in str(text) if ch.isprintable()).strip()


def proposal_code(text: str) -> str:
    code = scanned(text).lower()
    if not PROPOSAL_RE.match(code):
        raise InvalidValue(f"proposal code {text!r} is not valid: expected two letters and digits, e.g. mx23694")
    return code


def instrument_name(text: str) -> str:
    name = scanned(text).lower()
    if not INSTRUMENT_RE.match(name):
        raise InvalidValue(f"instrument name {text!r} is not valid: expected a letter and up to 9 letters or digits, e.g. i03, i15-1, m02, vmxi")
    return name


def location_code(text: str) -> str:
    code = scanned(text).lower()
    if not LOCATION_RE.match(code):
        raise InvalidValue(f"location code {text!r} is not valid: expected loc- and up to 56 letters, digits and hyphens, e.g. loc-stores-a1")
    return code


def _check_symbol(body: str) -> str:
    return mod_37_2.calc_check_digit(body.upper(), alphabet=_CHECK_ALPHABET)


@dataclass(frozen=True)
class MailInBarcode:
    proposal: str
    visit: int
    beamline: str
    serial: int

    @property
    def body(self) -> str:
        return f"{self.proposal}-{self.visit}-{self.beamline}-{self.serial:07d}"

    @property
    def is_allocatable(self) -> bool:
        """False for the serials whose check symbol would be a hyphen, I, L or O."""
        return _check_symbol(self.body) not in _NEVER_ALLOCATED

    def __str__(self) -> str:
        return f"{self.body}-{_check_symbol(self.body).lower()}"

    @classmethod
    def allocate(cls, proposal: str, visit: int, beamline: str, serial: int) -> "MailInBarcode":
        """The first allocatable barcode at or after `serial`."""
        if not 1 <= visit <= 9999:
            raise InvalidValue(f"visit number {visit!r} is not valid: expected 1 to 9999")
        code = cls(proposal_code(proposal), visit, instrument_name(beamline), serial)
        while not code.is_allocatable:
            code = cls(code.proposal, code.visit, code.beamline, code.serial + 1)
        if code.serial > 9_999_999:
            raise InvalidValue("the 7-digit dewar serial numbers are used up")
        return code

    @classmethod
    def parse(cls, text: str) -> "MailInBarcode":
        code = scanned(text).lower()
        match = MAIL_IN_RE.match(code)
        if not match:
            raise InvalidBarcode(f"{text!r} is not a whole mail-in dewar barcode: it was misread or mistyped; "
                                 f"scan it again or type it exactly as printed ({MAIL_IN_FORMAT})")
        body = code[: -2]
        if not mod_37_2.is_valid(body.upper() + match["check"].upper(), alphabet=_CHECK_ALPHABET):
            raise InvalidBarcode(
                f"{text!r} has a wrong check character: it was mistyped or misread; "
                "scan it again or type it exactly as printed"
            )
        return cls(match["proposal"], int(match["visit"]), match["beamline"], int(match["serial"]))


MAIL_IN_START_RE = re.compile(r"^[a-z]{2}[0-9]{1,6}-[0-9]")

# The mail-in shape as a sequence of (character class, fewest, most); the beamline may end in -N.
_D, _L, _LD, _H = "[0-9]", "[a-z]", "[a-z0-9]", "-"
_SHAPES = [
    [(_L, 2, 2), (_D, 1, 6), (_H, 1, 1), (_D, 1, 4), (_H, 1, 1), (_L, 1, 1), (_LD, 1, 9), *tail,
     (_H, 1, 1), (_D, 7, 7), (_H, 1, 1), (_LD, 1, 1)]
    for tail in ([], [(_H, 1, 1), (_D, 1, 1)])
]


def _atom(atom: tuple[str, int, int], fewest: int | None = None) -> str:
    cls, lo, hi = atom
    return f"{cls}{{{lo if fewest is None else fewest},{hi}}}"


def _prefix_pattern(atoms: list[tuple[str, int, int]]) -> str:
    """Any prefix of a string of this shape: some of the first atom, or all of it and a prefix of the rest."""
    if not atoms:
        return ""
    return f"(?:{_atom(atoms[0])}{_prefix_pattern(atoms[1:])}|{_atom(atoms[0], 0)})"


def _suffix_pattern(atoms: list[tuple[str, int, int]]) -> str:
    """Any suffix: a suffix of the rest, or some of the first atom followed by the whole rest."""
    if not atoms:
        return ""
    whole_rest = "".join(_atom(a) for a in atoms[1:])
    return f"(?:{_atom(atoms[0], 0)}{whole_rest}|{_suffix_pattern(atoms[1:])})"


_TRUNCATED_RE = re.compile("|".join(f"(?:{make(shape)})" for shape in _SHAPES
                                    for make in (_prefix_pattern, _suffix_pattern)))
# A scanner that drops characters keeps at least this many of a code before we call it a
# truncated mail-in code: shorter remnants are too short to tell apart from other barcodes.
TRUNCATED_AT_LEAST = 8
# What a misread can turn a character into, one per character class of the mail-in shape:
# the shape's classes are unions of digits, letters and the hyphen, so these three stand for
# every character a scanner or a person could produce (anything else matches no class).
_STAND_INS = "0a-"


def _character_classes(text: str) -> str:
    return "".join("0" if ch in "0123456789" else "a" if "a" <= ch <= "z" else "-" if ch == "-" else "?"
                   for ch in text)


@lru_cache(maxsize=4096)  # by the classes alone: every facility code or puck barcode has one of a few shapes
def _near_mail_in_shape(shape: str) -> bool:
    if MAIL_IN_START_RE.match(shape) or MAIL_IN_RE.match(shape):
        return True
    n = len(shape)
    one_error = (
        [shape[:i] + shape[i + 1:] for i in range(n)]  # a character too many (a hyphen doubled)
        + [shape[:i] + c + shape[i:] for i in range(n + 1) for c in _STAND_INS]  # one lost (a hyphen lost)
        + [shape[:i] + c + shape[i + 1:] for i in range(n) for c in _STAND_INS if c != shape[i]]  # one changed
        + [shape[:i] + shape[i + 1] + shape[i] + shape[i + 2:] for i in range(n - 1) if shape[i] != shape[i + 1]]
    )
    if any(MAIL_IN_RE.match(candidate) for candidate in one_error):
        return True
    return n >= TRUNCATED_AT_LEAST and _TRUNCATED_RE.fullmatch(shape) is not None


def looks_like_mail_in(text: str) -> bool:
    """True when the text is a mail-in barcode or could be one read with one error: a character
    changed, added or lost (a hyphen doubled or dropped), two neighbours swapped, or leading or
    trailing characters missing (at least TRUNCATED_AT_LEAST left). Such text is a misread."""
    code = scanned(text).lower()
    return len(code) <= 64 and _near_mail_in_shape(_character_classes(code))


@dataclass(frozen=True)
class FacilityCodes:
    """The facility's registered dewar codes; the pattern is configuration."""

    pattern: str = DEFAULT_FACILITY_CODE_PATTERN

    def matches(self, text: str) -> bool:
        return re.fullmatch(self.pattern, scanned(text).upper()) is not None

    def parse(self, text: str) -> str:
        code = scanned(text).upper()
        if re.fullmatch(self.pattern, code) is None:
            raise InvalidBarcode(f"{text!r} is not a facility dewar code: expected the pattern {self.pattern}, e.g. DLS-MX-0007")
        return code


def container_barcode(text: str) -> str:
    code = scanned(text).upper()
    if looks_like_mail_in(code):
        raise InvalidBarcode(f"container barcode {text!r} reads like a mail-in dewar barcode; "
                             "container barcodes must not start with a proposal code and visit", field="container_barcode")
    if not CONTAINER_RE.match(code):
        raise InvalidBarcode(
            f"container barcode {text!r} is not valid: expected 3 to 40 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit", field="container_barcode")
    return code


# Courier tracking numbers: what each courier's own labels carry.
COURIERS = ("dhl", "fedex", "ups", "other")
_TRACKING = {
    "dhl": (re.compile(r"^([0-9]{10}|J?JD[0-9]{18})$"), "a 10-digit air waybill or a JD/JJD piece number with 18 digits"),
    "fedex": (re.compile(r"^([0-9]{12}|[0-9]{15}|[0-9]{20}|[0-9]{22})$"), "12, 15, 20 or 22 digits, or the label's 32 to 34-digit barcode"),
    "ups": (re.compile(r"^1Z[0-9A-Z]{16}$"), "1Z followed by 16 letters and digits"),
}


# The couriers' published check digits. python-stdnum (a dependency) has none of these, so
# they are written here from the couriers' rules and tested with their published samples.
def _dhl_air_waybill_ok(number: str) -> bool:
    """DHL Express: the 10th digit is the first nine read as a number, modulo 7."""
    return len(number) != 10 or int(number[:9]) % 7 == int(number[9])


def _ups_ok(number: str) -> bool:
    """UPS 1Z: the 15 characters after 1Z (letters as (code - 63) mod 10), the odd ones once,
    the even ones twice; the 18th character brings the sum to a multiple of 10."""
    values = [int(c) if c.isdigit() else (ord(c) - 63) % 10 for c in number[2:17]]
    total = sum(v * (2 if i % 2 else 1) for i, v in enumerate(values))
    return number[17].isdigit() and (10 - total % 10) % 10 == int(number[17])


def _fedex_ok(number: str) -> bool:
    """FedEx Express 12 digits: the first 11 weighted 3, 1, 7, 3, 1, 7... from the left,
    summed modulo 11, then modulo 10, is the 12th. Other lengths are checked by shape only."""
    if len(number) != 12:
        return True
    weights = (3, 1, 7) * 4
    return sum(int(d) * w for d, w in zip(number[:11], weights)) % 11 % 10 == int(number[11])


_CHECKS = {"dhl": _dhl_air_waybill_ok, "ups": _ups_ok, "fedex": _fedex_ok}
_TRACKING_URLS = {
    "dhl": "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={}",
    "ups": "https://www.ups.com/track?tracknum={}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
}


def tracking_url(courier: str | None, number: str | None) -> str | None:
    """The courier's own tracking page for a number (None for other couriers or no number)."""
    template = _TRACKING_URLS.get((courier or "").lower())
    return template.format(quote(number, safe="")) if template and number else None


def courier_name(text: str) -> str:
    name = scanned(text).lower()
    if name not in COURIERS:
        raise InvalidValue(f"courier {text!r} is not known: expected one of {', '.join(COURIERS)}")
    return name


def tracking_number(courier: str, text: str) -> str:
    """The tracking number as the courier prints it; a FedEx label scan gives its last 12 digits."""
    courier = courier_name(courier)
    raw = scanned(text)
    if courier == "other":
        if not 1 <= len(raw) <= 64:
            raise InvalidValue(f"tracking number {text!r} is not valid: expected 1 to 64 characters")
        return raw
    number = re.sub(r"[\s-]", "", raw).upper()
    if courier == "fedex" and re.fullmatch(r"[0-9]{32,34}", number):
        number = number[-12:]
    pattern, accepted = _TRACKING[courier]
    if not pattern.match(number):
        raise InvalidValue(f"{courier.upper()} tracking number {text!r} is not valid: expected {accepted}")
    if not _CHECKS[courier](number):
        raise InvalidValue(f"{courier.upper()} tracking number {text!r} has a wrong check digit: it was mistyped; "
                           "type it again exactly as on the courier's label")
    return number
