/* Progressive enhancement: with the chat widget loaded, the question box opens it with the question instead of
   posting the form (the form still works without JavaScript). */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-casepilot-ask")) return;
    var widget = window.CasePilotWidget;
    var question = (form.querySelector("textarea").value || "").trim();
    if (!widget || typeof widget.ask !== "function" || !question) return;
    event.preventDefault();
    widget.open();
    widget.ask(question);
  });
})();
