// The web terminal's page: sign in with a token, pick a device, and run a shell on it in xterm.js.
//
// The WebSocket speaks the protocol described in services/web_terminal/terminal.py: keystrokes go
// as binary messages (UTF-8), the terminal's size and acknowledgements as JSON text; output comes
// back as raw bytes that xterm.js decodes. Acknowledging what xterm.js has written lets the server
// hold the device when the page falls behind, instead of piling output up in the browser.
import { Terminal } from "/assets/xterm.mjs";
import { FitAddon } from "/assets/addon-fit.mjs";

const ACK_EVERY = 32 * 1024; // bytes written by xterm.js between two acknowledgements
const CHUNK = 16 * 1024; // a long paste goes in messages of this size (the server takes 64 KiB)
const $ = (id) => document.getElementById(id);
let session = null; // { term, ws, observer } of the terminal on screen

async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = {};
  try {
    data = await response.json();
  } catch {
    // not JSON: keep the empty answer
  }
  return { ok: response.ok, status: response.status, data };
}

function show(view) {
  for (const id of ["signin", "devices", "terminal"]) $(id).hidden = id !== view;
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function closeTerminal() {
  if (session === null) return;
  session.observer.disconnect();
  session.ws.close();
  session.term.dispose();
  session = null;
  $("device-name").textContent = "";
}

async function route() {
  closeTerminal();
  setStatus("");
  const listed = await api("GET", "/api/devices");
  const signedIn = listed.ok;
  $("signout").hidden = !signedIn;
  $("user").textContent = signedIn ? listed.data.user : "";
  if (!signedIn) {
    if (listed.status !== 401) $("signin-error").textContent = listed.data.error || `error ${listed.status}`;
    show("signin");
    $("token").focus();
    return;
  }
  const device = decodeURIComponent(location.hash.slice(1));
  if (device) {
    openTerminal(device);
    return;
  }
  const list = $("device-list");
  list.replaceChildren(
    ...listed.data.devices.map((uuid) => {
      const link = document.createElement("a");
      link.href = `#${encodeURIComponent(uuid)}`;
      link.textContent = uuid;
      const item = document.createElement("li");
      item.append(link);
      return item;
    }),
  );
  $("no-devices").hidden = listed.data.devices.length > 0;
  show("devices");
}

// Ctrl+Shift+C copies the selection and Ctrl+Shift+V pastes, as in desktop terminals (plain
// Ctrl+C and Ctrl+V belong to the shell). Pasting is the browser's own: Ctrl+Shift+V fires a
// paste event that xterm.js takes (bracketed if the shell asked); xterm.js must not see the key.
function clipboardKeys(term) {
  return (event) => {
    if (!event.ctrlKey || !event.shiftKey || !["KeyC", "KeyV"].includes(event.code)) return true;
    if (event.type === "keydown" && event.code === "KeyC" && term.hasSelection()) {
      navigator.clipboard.writeText(term.getSelection());
    }
    return false;
  };
}

function openTerminal(device) {
  show("terminal");
  $("device-name").textContent = device;
  setStatus("connecting…");
  const term = new Terminal({ cursorBlink: true, scrollback: 5000, fontFamily: "monospace" });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open($("term"));
  fit.fit();
  term.attachCustomKeyEventHandler(clipboardKeys(term));
  window.webTerminal = term; // for tests and the curious: the screen is term.buffer.active

  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws?device=${encodeURIComponent(device)}`);
  ws.binaryType = "arraybuffer";
  const encoder = new TextEncoder();
  let written = 0;
  let ended = false;
  const open = () => ws.readyState === WebSocket.OPEN;
  const sendSize = () => open() && ws.send(JSON.stringify({ size: [term.cols, term.rows] }));
  const send = (bytes) => {
    for (let at = 0; at < bytes.length; at += CHUNK) ws.send(bytes.subarray(at, at + CHUNK));
  };

  ws.onopen = () => {
    sendSize();
    setStatus("connected");
    term.focus();
  };
  ws.onmessage = (event) => {
    if (typeof event.data === "string") {
      const message = JSON.parse(event.data);
      if (message.exit !== undefined) {
        ended = true;
        term.write(`\r\n\x1b[1m[${message.exit}]\x1b[0m\r\n`);
        setStatus(message.exit);
      } else if (message.error !== undefined) {
        ended = true;
        term.write(`\r\n\x1b[31m${message.error}\x1b[0m\r\n`);
        setStatus(message.error, true);
      }
      return;
    }
    const bytes = new Uint8Array(event.data);
    term.write(bytes, () => {
      written += bytes.length;
      if (written >= ACK_EVERY && open()) {
        ws.send(JSON.stringify({ ack: written }));
        written = 0;
      }
    });
  };
  ws.onclose = () => {
    if (!ended) setStatus("disconnected", true);
  };
  term.onData((data) => open() && send(encoder.encode(data)));
  term.onBinary((data) => open() && send(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
  term.onResize(sendSize);
  const observer = new ResizeObserver(() => fit.fit());
  observer.observe($("term"));
  session = { term, ws, observer };
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const answer = await api("POST", "/api/signin", { token: $("token").value });
  $("token").value = "";
  $("signin-error").textContent = answer.ok ? "" : answer.data.error || `error ${answer.status}`;
  if (answer.ok) route();
});
$("signout").addEventListener("click", async () => {
  await api("POST", "/api/signout", {});
  location.hash = "";
  route();
});
window.addEventListener("hashchange", route);
route();
