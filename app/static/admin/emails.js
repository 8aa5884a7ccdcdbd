// The Emails page's preview and test send: both post the same form (admin.js posts forms to
// their `action` only, so this form is handled here) and show the answer in the page.
(function () {
  "use strict";

  const form = document.querySelector("form[data-email-preview]");
  if (!form || !window.tessera) return;
  const status = form.querySelector("[data-email-status]");
  const result = document.querySelector("[data-email-preview-result]");

  function say(message, isError) {
    status.textContent = message || "";
    status.classList.toggle("Field-error", Boolean(isError));
  }

  function showPreview(data) {
    result.hidden = false;
    result.querySelector("[data-preview-subject]").textContent = data.subject;
    result.querySelector("[data-preview-locale]").textContent = "(" + data.locale + ", " + data.member + ")";
    result.querySelector("[data-preview-html]").srcdoc = data.html;
    result.querySelector("[data-preview-text]").textContent = data.text;
  }

  function firstProblem(error) {
    if (!error) return "Something went wrong; please try again.";
    const fields = error.fields ? Object.values(error.fields) : [];
    return error.message + (fields.length ? " (" + fields.join("; ") + ")" : "");
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    event.stopPropagation();  // admin.js would post to the form's action whichever button was pressed
    const button = event.submitter;
    const url = (button && button.getAttribute("formaction")) || form.getAttribute("action");
    say("");
    if (button) button.setAttribute("aria-busy", "true");
    try {
      const response = await window.tessera.api(url, { method: "POST", body: new FormData(form) });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) {
        say(firstProblem(data.error), true);
      } else if (data.html !== undefined) {
        showPreview(data);
        say("Preview of “" + data.subject + "” for " + data.member + ".");
      } else {
        say(data.message);
      }
    } catch (error) {
      say(error.message, true);
    } finally {
      if (button) button.removeAttribute("aria-busy");
    }
  });
})();
