// Shared by every page: the named GraphQL operations, forms that run them, the live feed, sounds.
const OPS = JSON.parse(document.getElementById("ops")?.textContent || "{}");

async function gql(name, variables) {
  const response = await fetch("/graphql", {
    method: "POST", credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: OPS[name], operationName: name, variables }),
  });
  if (response.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); throw new Error("signed out"); }
  const body = await response.json();
  if (body.errors) throw new Error(body.errors[0].message);
  return body.data;
}

// The first result of a mutation's data; a Problem says what went wrong.
function outcome(data) { return Object.values(data)[0]; }

function show(el, text, ok) {
  if (!el) return;
  el.textContent = text;
  el.classList.toggle("ok", !!ok);
  el.classList.toggle("bad", !ok);
}

function formVariables(form) {
  const vars = {};
  for (const el of form.elements) {
    if (!el.name || el.type === "submit" || el.closest("fieldset#sample-attributes")) continue;
    if (el.value === "" && !el.required) continue;
    vars[el.name] = el.dataset.type === "int" ? parseInt(el.value, 10) : el.value;
  }
  return vars;
}

// Run the form's named mutation; on success call `done` (or reload), else show the problem.
function submitOp(form, done, extra) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = form.querySelector(".result");
    if (form.dataset.confirm && !confirm(form.dataset.confirm)) return;
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      const variables = { ...formVariables(form), ...(extra ? extra(form) : {}) };
      const data = await gql(form.dataset.op, variables);
      const value = outcome(data);
      if (value && value.message && value.code) {
        show(result, value.message, false);
      } else if (!(done && done(data, form))) {
        show(result, "Done.", true);
        setTimeout(() => location.reload(), 300);
      }
    } catch (error) {
      show(result, "Not saved: " + error.message + ". Check your connection and try again.", false);
    } finally {
      if (button) button.disabled = false;
    }
  });
}

// graphql-transport-ws: the live feed over a websocket (signed in by the session cookie).
function subscribe(name, variables, onEvent, onState) {
  let socket, retry = 1000;
  const open = () => {
    socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/graphql",
                           "graphql-transport-ws");
    socket.onopen = () => socket.send(JSON.stringify({ type: "connection_init", payload: {} }));
    socket.onmessage = (message) => {
      const m = JSON.parse(message.data);
      if (m.type === "connection_ack") {
        retry = 1000;
        onState && onState("live");
        socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: OPS[name], operationName: name, variables } }));
      } else if (m.type === "next" && m.payload.data) {
        onEvent(Object.values(m.payload.data)[0]);
      } else if (m.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      }
    };
    socket.onclose = () => { onState && onState("reconnecting"); setTimeout(open, retry); retry = Math.min(retry * 2, 15000); };
  };
  open();
}

// An event's sentence (its parts) into an element: words, and links to the things named.
function tell(el, parts) {
  el.textContent = "";
  for (const p of parts || []) {
    const piece = p.href ? Object.assign(document.createElement("a"), { href: p.href }) : document.createElement("span");
    piece.textContent = p.text;
    el.append(piece);
  }
}

// Distinct sounds for scan results, so nobody has to look at the screen.
let audio;
function beep(kind) {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const tones = { received: [[880, .12], [1320, .18]], moved: [[880, .15]], unchanged: [[660, .08]],
                    unknown: [[330, .18], [330, .18]], invalid: [[200, .45]], refused: [[260, .3], [200, .3]],
                    danger: [[988, .2], [494, .2], [988, .2], [494, .2], [988, .2], [494, .4]] };
    let t = audio.currentTime;
    for (const [frequency, length] of tones[kind] || tones.moved) {
      const osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = frequency; gain.gain.value = kind === "danger" ? .6 : .2;
      osc.connect(gain).connect(audio.destination); osc.start(t); osc.stop(t + length); t += length + .06;
    }
    document.body.dataset.lastSound = kind;
  } catch (e) { /* no audio device: the colour still tells */ }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-op]")) {
    if (!form.dataset.custom && !form.closest("#new-shipment") && form.id !== "new-shipment") submitOp(form);
  }
});
