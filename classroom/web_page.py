"""The projected view's page: its HTML, script and style, served by ``web_view``.

Kept as Python strings so that they ship inside the package like any module (both bundles
zip ``classroom/`` whole; an installed package holds .py files). The script builds every
piece of the page with ``createElement`` and ``textContent``: text from the room is never
parsed as HTML. ``{hub_port}`` is filled in by the server.
"""

__all__ = ['INDEX_HTML', 'APP_JS', 'STYLE_CSS']

INDEX_HTML = '''<!DOCTYPE html>
<html lang="zh">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>聊天室 / Chat room</title>
<link rel="stylesheet" href="/style.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1>聊天室 <span class="en">Chat room</span></h1>
  <div id="status" class="status">连接中 / connecting…</div>
  <div class="where">端口 / port {hub_port}</div>
</header>
<main>
  <section class="people">
    <h2>在线 <span class="en">online</span> <span id="count">0</span></h2>
    <ul id="online"></ul>
  </section>
  <section class="talk" id="talk">
    <h2>消息 <span class="en">messages</span></h2>
    <ol id="events"></ol>
  </section>
</main>
</body>
</html>
'''

APP_JS = r'''"use strict";
// The projected view of the room: read-only. Every text from the room goes into the page
// with textContent, never as HTML.
(function () {
  var MAX_SHOWN = 400;          // events kept on the page (the oldest go first)
  var RETRY_MS = 2000;          // reconnecting after the hub went away
  var list = document.getElementById("events");
  var talk = document.getElementById("talk");
  var online = document.getElementById("online");
  var count = document.getElementById("count");
  var status = document.getElementById("status");
  var people = [];              // labels online, in the order they joined
  var lastNumber = 0;           // the last event shown (events arrive in order)
  // What the page has been handed, for whoever checks it (a test, a benchmark): messages
  // that came live, events whose number skipped one, snapshots taken.
  var view = window.roomView = {live: false, messages: 0, gaps: 0, snapshots: 0};

  function clock(seconds) {
    var d = new Date(seconds * 1000);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
  }

  function span(cls, text) {
    var s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    return s;
  }

  function showPeople() {
    while (online.firstChild) { online.removeChild(online.firstChild); }
    people.forEach(function (label) {
      var li = document.createElement("li");
      li.textContent = label;
      online.appendChild(li);
    });
    count.textContent = String(people.length);
  }

  function show(event) {
    if (event.n <= lastNumber) { return; }
    lastNumber = event.n;
    var li = document.createElement("li");
    li.className = event.kind;
    li.dataset.n = String(event.n);
    li.appendChild(span("time", clock(event.at)));
    li.appendChild(span("who", event.who));
    if (event.kind === "message") {
      li.appendChild(span("text", event.text));
    } else if (event.kind === "join") {
      li.appendChild(span("note", "加入了聊天室 / joined"));
      if (people.indexOf(event.who) < 0) { people.push(event.who); }
    } else {
      li.appendChild(span("note", "已经离开了 / left" + (event.text ? " (" + event.text + ")" : "")));
      people = people.filter(function (label) { return label !== event.who; });
    }
    list.appendChild(li);
    while (list.childElementCount > MAX_SHOWN) { list.removeChild(list.firstElementChild); }
  }

  function snapshot(data) {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    lastNumber = 0;
    people = data.online.slice();
    var shown = people.slice();
    data.events.forEach(show);
    people = shown;             // the snapshot's list is the truth, whatever the ring held
    showPeople();
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/ws");
    ws.onopen = function () { status.textContent = "在线 / live"; status.className = "status live"; };
    ws.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.kind === "snapshot") {
        snapshot(data);
        view.snapshots += 1;
        view.live = true;
      } else {
        data.events.forEach(function (event) {
          if (lastNumber && event.n !== lastNumber + 1) { view.gaps += 1; }
          if (event.kind === "message" && event.n > lastNumber) { view.messages += 1; }
          show(event);
        });
        showPeople();
      }
      talk.scrollTop = talk.scrollHeight;   // the newest at the bottom, in view
    };
    ws.onclose = function () {
      view.live = false;
      status.textContent = "已断开, 重连中 / disconnected, retrying…";
      status.className = "status down";
      setTimeout(connect, RETRY_MS);
    };
  }

  connect();
})();
'''

STYLE_CSS = '''
html, body { height: 100%; }
body { margin: 0; display: flex; flex-direction: column; font-size: 22px;
       font-family: "Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", "PingFang SC",
       sans-serif, "Noto Color Emoji", "Apple Color Emoji", "Segoe UI Emoji";
       background: #fafafa; color: #222; }
header { display: flex; align-items: baseline; gap: 1.5em; padding: 0.4em 1em;
         background: #24527a; color: white; }
h1 { margin: 0; font-size: 1.6em; }
h2 { margin: 0.3em 0; font-size: 1.1em; color: #24527a; }
.en { font-weight: normal; opacity: 0.7; font-size: 0.8em; }
.status { padding: 0.1em 0.6em; border-radius: 0.4em; background: #777; }
.status.live { background: #2e8b57; }
.status.down { background: #b22222; }
.where { margin-left: auto; opacity: 0.8; }
main { flex: 1; min-height: 0; display: flex; gap: 1em; padding: 0 1em; }
.people { flex: 0 0 14em; overflow-y: auto; }
.talk { flex: 1; min-width: 0; overflow-y: auto; }
.talk h2 { position: sticky; top: 0; background: #fafafa; }
ul, ol { list-style: none; margin: 0; padding: 0; }
#online li { padding: 0.15em 0; font-family: monospace; font-size: 0.9em; }
#events li { padding: 0.2em 0 0.2em 1.5em; text-indent: -1.5em; border-bottom: 1px solid #e4e4e4;
             white-space: pre-wrap; overflow-wrap: anywhere; }
.time { color: #888; font-size: 0.8em; margin-right: 0.6em; }
.who { font-family: monospace; color: #24527a; margin-right: 0.6em; }
.who::after { content: " :"; }
.join .who::after, .leave .who::after { content: ""; }
.join, .leave { color: #777; font-size: 0.85em; }
'''
