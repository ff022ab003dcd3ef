// The stems player: every stem is decoded into an AudioBuffer and started on the same
// AudioContext clock, so the lanes stay sample-aligned whatever the browser buffers
// (separate <audio> elements drift apart). Each lane has a GainNode for volume,
// mute and solo.
(function () {
  "use strict";
  var Ctx = window.AudioContext || window.webkitAudioContext;
  var lanes = Array.prototype.slice.call(document.querySelectorAll(".lane"));
  var playBtn = document.getElementById("play");
  var seek = document.getElementById("seek");
  var clock = document.getElementById("clock");
  var status = document.getElementById("player-status");
  var player = { ctx: null, lanes: [], duration: 0, playing: false, startedAt: 0, offset: 0, sources: [] };
  window.cratebotPlayer = player;  // read by tests and handy in the console

  function fmt(s) { s = Math.max(0, Math.round(s)); return String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0"); }
  function position() { return player.playing ? player.offset + player.ctx.currentTime - player.startedAt : player.offset; }

  function applyGains() {
    var soloed = player.lanes.some(function (l) { return l.solo; });
    player.lanes.forEach(function (l) {
      var audible = !l.mute && (!soloed || l.solo);
      l.effective = audible ? l.volume : 0;
      if (l.gain) { l.gain.gain.setTargetAtTime(l.effective, player.ctx.currentTime, 0.01); }
      l.el.classList.toggle("silent", !audible);
    });
  }
  function stopSources() { player.sources.forEach(function (s) { try { s.stop(); } catch (e) { /* already stopped */ } }); player.sources = []; }
  function start(at) {
    stopSources();
    var when = player.ctx.currentTime + 0.05;
    player.lanes.forEach(function (l) {
      var src = player.ctx.createBufferSource();
      src.buffer = l.buffer;
      src.connect(l.gain);
      src.start(when, Math.min(at, l.buffer.duration));
      player.sources.push(src);
    });
    player.startedAt = when; player.offset = at; player.playing = true;
    playBtn.textContent = "Pause";
  }
  function pause() { player.offset = position(); stopSources(); player.playing = false; playBtn.textContent = "Play"; }
  function toggle() {
    if (!player.ctx) { return; }
    if (player.ctx.state === "suspended") { player.ctx.resume(); }
    if (player.playing) { pause(); } else { start(player.offset >= player.duration ? 0 : player.offset); }
  }
  function tick() {
    if (player.ctx && player.duration) {
      var p = position();
      if (player.playing && p >= player.duration) { pause(); player.offset = 0; }
      clock.textContent = fmt(p) + " / " + fmt(player.duration);
      if (!seek.matches(":active")) { seek.value = Math.round(1000 * Math.min(p / player.duration, 1)); }
    }
    window.requestAnimationFrame(tick);
  }
  function press(button, on) { button.setAttribute("aria-pressed", on ? "true" : "false"); }

  lanes.forEach(function (el, i) {
    var lane = { el: el, name: el.dataset.name, url: el.dataset.url, mute: false, solo: false, volume: 1, effective: 1, gain: null, buffer: null };
    player.lanes.push(lane);
    var mute = el.querySelector(".mute"), solo = el.querySelector(".solo"), vol = el.querySelector(".volume");
    mute.addEventListener("click", function () { lane.mute = !lane.mute; press(mute, lane.mute); applyGains(); });
    solo.addEventListener("click", function () { lane.solo = !lane.solo; press(solo, lane.solo); applyGains(); });
    vol.addEventListener("input", function () { lane.volume = vol.value / 100; applyGains(); });
    lane.toggleMute = function () { mute.click(); };
    lane.toggleSolo = function () { solo.click(); };
  });
  playBtn.addEventListener("click", toggle);
  seek.addEventListener("change", function () {
    var at = player.duration * seek.value / 1000;
    if (player.playing) { start(at); } else { player.offset = at; }
  });
  document.addEventListener("keydown", function (e) {
    if (e.target && (e.target.tagName === "INPUT" || e.target.tagName === "BUTTON") && e.key === " ") { return; }
    if (e.key === " ") { e.preventDefault(); toggle(); return; }
    var n = parseInt(e.code && e.code.indexOf("Digit") === 0 ? e.code.slice(5) : e.key, 10);
    if (n >= 1 && n <= player.lanes.length) {
      if (e.shiftKey) { player.lanes[n - 1].toggleSolo(); } else { player.lanes[n - 1].toggleMute(); }
    }
  });

  if (!Ctx) { status.textContent = "This browser has no Web Audio API; use the downloads below."; return; }
  player.ctx = new Ctx();
  Promise.all(player.lanes.map(function (lane) {
    return fetch(lane.url, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(lane.name + ": HTTP " + r.status); } return r.arrayBuffer(); })
      .then(function (data) { return player.ctx.decodeAudioData(data); })
      .then(function (buffer) {
        lane.buffer = buffer;
        lane.gain = player.ctx.createGain();
        lane.gain.connect(player.ctx.destination);
        player.duration = Math.max(player.duration, buffer.duration);
      });
  })).then(function () {
    applyGains();
    playBtn.disabled = false; seek.disabled = false; playBtn.textContent = "Play";
    status.textContent = player.lanes.length + " stems ready. Keys: space play/pause; 1–9 mute a lane; shift+1–9 solo.";
    player.ready = true;
    window.requestAnimationFrame(tick);
  }).catch(function (err) {
    status.textContent = "Could not load the stems (" + err.message + "); use the downloads below.";
    player.error = String(err.message);
  });
})();
