// Clicking (or pressing Enter on) a span of the timeline highlights its row, and the
// reverse; arrow keys move along the timeline. Plain DOM code: the page has no build.
(function () {
  "use strict";
  var spans = Array.prototype.slice.call(document.querySelectorAll("#timeline .span"));
  function select(index, focus) {
    spans.forEach(function (s, i) {
      var row = document.getElementById(s.dataset.row);
      s.classList.toggle("active", i === index);
      s.setAttribute("aria-current", i === index ? "true" : "false");
      if (row) { row.classList.toggle("active", i === index); }
    });
    var chosen = spans[index];
    if (!chosen) { return; }
    if (focus) { chosen.focus(); }
    var target = document.getElementById(chosen.dataset.row);
    if (target && target.scrollIntoView) { target.scrollIntoView({ block: "nearest" }); }
  }
  spans.forEach(function (span, i) {
    span.addEventListener("click", function () { select(i, false); });
    span.addEventListener("keydown", function (e) {
      if (e.key === "ArrowRight" || e.key === "ArrowDown") { e.preventDefault(); select(Math.min(i + 1, spans.length - 1), true); }
      if (e.key === "ArrowLeft" || e.key === "ArrowUp") { e.preventDefault(); select(Math.max(i - 1, 0), true); }
    });
    var row = document.getElementById(span.dataset.row);
    if (row) { row.addEventListener("click", function () { select(i, false); }); }
  });
})();
