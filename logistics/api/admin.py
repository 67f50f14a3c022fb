"""The facility admin: locations, facility dewars, proposals, people and their erasure."""

from __future__ import annotations

from typing import Optional

import strawberry

from logistics.api.results import DewarResult, Done, DoneResult, attempt, dewar_node


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def register_location(self, info: strawberry.Info, code: str, name: str, kind: str = "storage") -> DoneResult:
        s = info.context.session
        return await attempt(info, lambda: s.register_location(code, name, kind), lambda c: Done(ok=True, id=c))

    @strawberry.mutation
    async def register_facility_dewar(self, info: strawberry.Info, facility_code: str) -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.register_facility_dewar(facility_code),
                             lambda _: dewar_node(info.context, facility_code))

    @strawberry.mutation
    async def register_proposal(self, info: strawberry.Info, code: str, title: str) -> DoneResult:
        s = info.context.session
        return await attempt(info, lambda: s.register_proposal(code, title), lambda c: Done(ok=True, id=c))

    @strawberry.mutation
    async def register_person(self, info: strawberry.Info, name: str, email: str,
                              phone: Optional[str] = None) -> DoneResult:
        s = info.context.session
        return await attempt(info, lambda: s.register_person(name, email, phone=phone),
                             lambda pid: Done(ok=True, id=str(pid)))

    @strawberry.mutation
    async def add_member(self, info: strawberry.Info, proposal: str, person_id: strawberry.ID, role: str) -> DoneResult:
        s = info.context.session
        return await attempt(info, lambda: s.add_member(proposal, person_id, role), lambda _: Done(ok=True))

    @strawberry.mutation
    async def add_lab_contact(self, info: strawberry.Info, proposal: str, person_id: strawberry.ID,
                              address_lines: list[str], country: str, label: str = "") -> DoneResult:
        s = info.context.session
        address = {"lines": address_lines, "country": country, "label": label}
        return await attempt(info, lambda: s.add_lab_contact(proposal, person_id, address),
                             lambda cid: Done(ok=True, id=cid))

    @strawberry.mutation(description="Data-protection erasure: the person's details are shredded; histories stay whole.")
    async def erase_person(self, info: strawberry.Info, person_id: strawberry.ID) -> DoneResult:
        s = info.context.session
        return await attempt(info, lambda: s.erase_person(person_id), lambda _: Done(ok=True))
