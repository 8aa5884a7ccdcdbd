// Tessera embedded admin. Every request to Tessera carries a fresh session token
// (Authorization: Bearer, or id_token on page loads); nothing relies on cookies, which a
// third-party iframe may not have. Forms also send the page's CSRF token.
// Session tokens come from App Bridge (window.shopify.idToken()) inside the Shopify admin, or
// from the local demo store's /devstore/session-token when App Bridge is not loaded.
(function () {
  "use strict";

  const body = document.body;
  const query = new URLSearchParams(location.search);
  const ctx = {
    shop: body.dataset.shop || query.get("shop") || "",
    host: body.dataset.host || query.get("host") || "",
    csrf: body.dataset.csrf || "",
  };

  // ---- session tokens ---------------------------------------------------------------
  let demoToken = null;

  async function sessionToken() {
    if (window.shopify && typeof window.shopify.idToken === "function") {
      return window.shopify.idToken();
    }
    // Demo-store tokens live a minute; reuse one for a few seconds at most.
    if (demoToken && Date.now() - demoToken.at < 20000) return demoToken.token;
    const response = await fetch("/devstore/session-token?shop=" + encodeURIComponent(ctx.shop),
      { credentials: "omit", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error("No session token: open Tessera from your Shopify admin.");
    const data = await response.json();
    demoToken = { token: data.token, at: Date.now() };
    return data.token;
  }

  function withContext(url) {
    const target = new URL(url, location.href);
    if (ctx.shop && !target.searchParams.has("shop")) target.searchParams.set("shop", ctx.shop);
    if (ctx.host && !target.searchParams.has("host")) target.searchParams.set("host", ctx.host);
    target.searchParams.delete("id_token");
    return target;
  }

  async function navigate(url) {
    const target = withContext(url);
    try {
      target.searchParams.set("id_token", await sessionToken());
    } catch (error) {
      // The page answers with its sign-in explanation.
    }
    location.assign(target.toString());
  }

  async function api(url, options) {
    options = options || {};
    const headers = new Headers(options.headers || {});
    headers.set("Authorization", "Bearer " + (await sessionToken()));
    headers.set("Accept", "application/json");
    if (options.method && options.method !== "GET") headers.set("X-CSRF-Token", ctx.csrf);
    return fetch(url, Object.assign({}, options, { headers: headers, credentials: "omit" }));
  }

  // ---- feedback ---------------------------------------------------------------------
  function toast(message, isError) {
    if (!message) return;
    if (!isError && window.shopify && window.shopify.toast) {
      window.shopify.toast.show(message);
      return;
    }
    const element = document.createElement("div");
    element.className = "Toast" + (isError ? " Toast--error" : "");
    element.setAttribute("role", isError ? "alert" : "status");
    element.textContent = message;
    document.body.appendChild(element);
    setTimeout(() => element.remove(), isError ? 8000 : 4000);
  }

  function errorSlot(form, field) {
    let path = field;
    while (path) {
      const slot = form.querySelector('[data-error-for="' + CSS.escape(path) + '"]');
      if (slot) return { slot: slot, exact: path === field };
      path = path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "";
    }
    return null;
  }

  function clearErrors(form) {
    form.querySelectorAll("[data-error-for]").forEach((slot) => { slot.textContent = ""; });
    form.querySelectorAll(".Field--invalid").forEach((el) => el.classList.remove("Field--invalid"));
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    const banner = form.querySelector("[data-form-errors]");
    if (banner) banner.hidden = true;
  }

  function formBanner(form) {
    let banner = form.querySelector("[data-form-errors]");
    if (!banner) {
      banner = document.createElement("div");
      banner.className = "Banner Banner--critical";
      banner.setAttribute("data-form-errors", "");
      banner.setAttribute("role", "alert");
      banner.tabIndex = -1;
      form.prepend(banner);
    }
    return banner;
  }

  function showErrors(form, error) {
    error = error || { message: "Something went wrong. Please try again." };
    const unplaced = [];
    let first = null;
    (error.fields || []).forEach((item) => {
      const found = errorSlot(form, item.field);
      if (!found) {
        unplaced.push(item.field + ": " + item.problem);
        return;
      }
      const leaf = item.field.split(".").pop();
      const text = found.exact ? item.problem : leaf + ": " + item.problem;
      found.slot.textContent = found.slot.textContent ? found.slot.textContent + " " + text : text;
      const wrapper = found.slot.closest(".Field, .Repeat-row");
      if (wrapper) wrapper.classList.add("Field--invalid");
      const input = wrapper && wrapper.querySelector("input, select, textarea");
      if (input && found.exact) {
        input.setAttribute("aria-invalid", "true");
        first = first || input;
      }
    });
    const banner = formBanner(form);
    banner.replaceChildren();
    const title = document.createElement("p");
    title.className = "Banner-title";
    title.textContent = error.message;
    banner.appendChild(title);
    if (unplaced.length) {
      const list = document.createElement("ul");
      unplaced.forEach((line) => {
        const item = document.createElement("li");
        item.textContent = line;
        list.appendChild(item);
      });
      banner.appendChild(list);
    }
    banner.hidden = false;
    (first || banner).focus();
  }

  // ---- forms ------------------------------------------------------------------------
  function getFormTarget(form) {
    const target = new URL(form.getAttribute("action") || location.pathname, location.href);
    new FormData(form).forEach((value, key) => {
      if (typeof value === "string" && value !== "") target.searchParams.set(key, value);
    });
    return target;
  }

  // Asks inside the page: the admin iframe's sandbox may not allow window.confirm().
  function confirmed(form, button) {
    if (!form.dataset.confirm || form.dataset.confirmed) return true;
    form.dataset.confirmed = "1";
    const note = document.createElement("p");
    note.className = "Field-error";
    note.setAttribute("role", "alert");
    note.textContent = form.dataset.confirm + " Press again to confirm.";
    form.appendChild(note);
    if (button) button.textContent = "Confirm";
    return false;
  }

  // A key or signing secret is in this one answer and never again: show it in the form.
  function revealSecret(form, secret) {
    const box = form.querySelector("[data-secret-box]");
    if (!box) return;
    box.querySelector("[data-secret]").textContent = secret;
    box.hidden = false;
    box.querySelector("[data-secret]").focus();
  }

  // A form marked data-api posts to the JSON API (/api/v1) the way any API client does: one
  // implementation of each action. Whole numbers in number inputs go as numbers; anything else
  // goes as typed, for the API to refuse with a message on that field.
  function requestOf(form) {
    if (form.dataset.api === undefined) return { method: "POST", body: new FormData(form) };
    const body = {};
    new FormData(form).forEach((value, key) => {
      if (key === "csrf_token") return;
      const input = form.elements.namedItem(key);
      const typed = input && input.type === "number" ? value.trim().replace(/^\+/, "") : value;
      body[key] = /^-?\d{1,15}$/.test(typed) && input.type === "number" ? Number(typed) : value;
    });
    return { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } };
  }

  async function submitForm(form, submitter) {
    const button = submitter || form.querySelector('[type="submit"]');
    if (!confirmed(form, button)) return;
    clearErrors(form);
    if (button) button.setAttribute("aria-busy", "true");
    try {
      const response = await api(form.getAttribute("action"), requestOf(form));
      const data = await response.json().catch(() => ({}));
      if (!response.ok) {
        showErrors(form, data.error);
        return;
      }
      if (!data.message && form.dataset.done) data.message = form.dataset.done;
      if (data.job && data.job.status !== "done") {
        await followImport(data.job, data.background, form);
        return;
      }
      toast(data.message);
      if (data.top_redirect) {
        // Shopify's pages (e.g. approving a charge) refuse to load inside the app's iframe.
        window.open(data.top_redirect, "_top");
        return;
      }
      if (data.secret) revealSecret(form, data.secret);
      if (data.download) download(data.download.url, data.download.filename);
      if (form.dataset.stay === undefined) setTimeout(() => navigate(data.redirect || location.href), 600);
    } catch (error) {
      toast(error.message, true);
    } finally {
      if (button) button.removeAttribute("aria-busy");
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    event.preventDefault();
    if ((form.getAttribute("method") || "get").toLowerCase() === "get") {
      navigate(getFormTarget(form));
    } else {
      submitForm(form, event.submitter);
    }
  });

  // ---- navigation: same-origin links get a fresh session token --------------------------
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    const link = event.target.closest("a[href]");
    if (!link) return;
    if (link.dataset.download !== undefined) {
      event.preventDefault();
      download(link.getAttribute("href"), link.dataset.download);
      return;
    }
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || link.target || link.hasAttribute("download")) return;
    if (url.pathname.startsWith("/static/") || url.pathname.startsWith("/api/")) return;
    if (url.pathname === location.pathname && url.hash && url.search === location.search) return;
    event.preventDefault();
    navigate(url);
  });

  async function download(url, filename) {
    try {
      if (window.top !== window.self) {
        // Inside the admin iframe a download may be sandboxed: open the file in a new tab,
        // authenticated by a fresh session token in the address (GET only, valid a minute).
        const target = new URL(url, location.href);
        target.searchParams.set("id_token", await sessionToken());
        window.open(target.toString(), "_blank", "noopener");
        return;
      }
      const response = await api(url);
      if (!response.ok) throw new Error("The download failed (" + response.status + "). Please try again.");
      const blob = await response.blob();
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = filename;
      document.body.appendChild(link);
      link.click();
      setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
    } catch (error) {
      toast(error.message, true);
    }
  }

  // ---- imports: progress of a job run by the worker (or, without one, by this page) -------
  function showProgress(job) {
    const box = document.querySelector('[data-import-progress="' + job.kind + '"]');
    if (!box) return;
    box.hidden = false;
    const bar = box.querySelector(".ProgressBar-fill");
    const label = box.querySelector("[data-progress-label]");
    const percent = job.percent === null || job.percent === undefined ? null : job.percent;
    if (bar) bar.style.width = (percent === null ? 5 : percent) + "%";
    box.querySelector(".ProgressBar").setAttribute("aria-valuenow", percent === null ? "" : String(percent));
    if (label) {
      label.textContent = job.message || (job.processed.toLocaleString() +
        (job.total ? " of " + job.total.toLocaleString() : "") + " imported");
    }
  }

  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // One step of the loop: the job as it stands now. With a worker the page only reads the job
  // (and starts it again if its worker went away); without one it runs a few seconds of it.
  let resumedStalled = false;

  async function nextImportState(job, background, form) {
    if (!background) {
      const response = await api("/import/jobs/" + job.id + "/run", { method: "POST" });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error((data.error && data.error.message) || "The import stopped; resume it to continue.");
      if (data.job.phase === "export") await pause(1000);  // Shopify is still writing the file
      return data.job;
    }
    await pause(1500);
    const response = await api("/api/v1/imports/" + job.id);
    const current = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error((current.error && current.error.message) || "The import's progress is unavailable.");
    if (current.stalled && form && !resumedStalled) {
      resumedStalled = true;  // once: the worker that takes it up refreshes the job
      await api(form.getAttribute("action"), { method: "POST", body: new FormData(form) });
    } else if (!current.stalled) {
      resumedStalled = false;
    }
    return current;
  }

  async function followImport(job, background, form) {
    showProgress(job);
    try {
      while (job.status !== "done" && job.status !== "failed") {
        job = await nextImportState(job, background, form);
        showProgress(job);
      }
    } catch (error) {
      toast(error.message, true);
      return;
    }
    toast(job.status === "done" ? "Import finished." : "The import stopped; resume it to continue.",
      job.status !== "done");
    setTimeout(() => navigate(location.href), 1200);
  }

  // A page opened while an import runs in the background keeps showing its progress.
  document.querySelectorAll("[data-import-job]").forEach((box) => {
    const job = JSON.parse(box.dataset.importJob);
    if (job.status === "running" || (job.status === "pending" && !job.stalled)) {
      followImport(job, true, box.closest("form"));
    }
  });

  // ---- repeatable rows (campaigns, tiers) ---------------------------------------------
  document.addEventListener("click", (event) => {
    const add = event.target.closest("[data-add-row]");
    if (add) {
      event.preventDefault();
      const name = add.dataset.addRow;
      const template = document.querySelector('template[data-row-template="' + name + '"]');
      const list = document.querySelector('[data-rows="' + name + '"]');
      const index = Number(list.dataset.next || list.children.length);
      list.dataset.next = String(index + 1);
      list.insertAdjacentHTML("beforeend", template.innerHTML.replaceAll("__INDEX__", String(index)));
      return;
    }
    const remove = event.target.closest("[data-remove-row]");
    if (remove) {
      event.preventDefault();
      remove.closest(".Repeat-row").remove();
    }
  });

  // ---- reward fields that depend on the kind ------------------------------------------
  function showFieldsForKind(select) {
    const form = select.form;
    form.querySelectorAll("[data-kinds]").forEach((field) => {
      field.hidden = !field.dataset.kinds.split(" ").includes(select.value);
    });
  }

  document.addEventListener("change", (event) => {
    if (event.target.matches("select[data-kind-select]")) showFieldsForKind(event.target);
  });
  document.querySelectorAll("select[data-kind-select]").forEach(showFieldsForKind);

  // ---- fields that only matter for one choice of another field -----------------------
  function applyShowIf(root) {
    root.querySelectorAll("[data-show-if]").forEach((element) => {
      const [name, wanted] = element.dataset.showIf.split("=");
      const form = element.closest("form");
      const control = form && form.querySelector('select[name="' + CSS.escape(name) + '"]');
      if (control) element.hidden = control.value !== wanted;
    });
  }

  document.addEventListener("change", (event) => {
    if (event.target.matches("select") && event.target.form) applyShowIf(event.target.form);
  });
  applyShowIf(document);

  // ---- live preview of the widget's look ----------------------------------------------
  document.addEventListener("input", (event) => {
    const input = event.target;
    const preview = document.querySelector("[data-preview]");
    if (!preview || !input.dataset.previewText && !input.dataset.previewStyle) return;
    if (input.dataset.previewText) {
      preview.querySelectorAll('[data-preview-target="' + input.dataset.previewText + '"]').forEach((el) => {
        el.textContent = input.value;
      });
    } else if (input.dataset.previewStyle === "accent" && /^#[0-9a-fA-F]{6}$/.test(input.value)) {
      preview.style.setProperty("--tessera-accent", input.value);
    } else if (input.dataset.previewStyle === "position") {
      preview.dataset.position = input.value;
    }
  });
  document.addEventListener("change", (event) => {
    if (event.target.dataset.previewStyle === "position") {
      const preview = document.querySelector("[data-preview]");
      if (preview) preview.dataset.position = event.target.value;
    }
  });

  // ---- page start ---------------------------------------------------------------------
  async function signIn() {
    const message = document.querySelector("[data-sign-in-message]");
    if (body.dataset.signIn !== "retry" || !ctx.shop) {
      if (message) message.hidden = false;
      return;
    }
    try {
      const target = withContext(location.href);
      target.searchParams.set("id_token", await sessionToken());
      location.replace(target.toString());
    } catch (error) {
      if (message) message.hidden = false;
    }
  }

  if (body.dataset.signIn) {
    signIn();
  } else if (query.has("id_token")) {
    // The token in the URL is spent after a minute; keep it out of reloads and copies.
    history.replaceState(null, "", withContext(location.href).toString());
  }

  const flash = document.querySelector("[data-flash]");
  if (flash) toast(flash.dataset.flash);

  window.tessera = { api: api, navigate: navigate, sessionToken: sessionToken };
})();
