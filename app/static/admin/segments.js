// The segment builder: condition rows (field, op, value) built from the server's options, a live
// count and sample members while editing (POST /api/v1/segments/preview), save, delete, and
// "sync to Shopify". Talks to /api/v1/segments with admin.js's session-token fetch.
(function () {
  "use strict";

  const form = document.querySelector("[data-segment-builder]");
  const syncForm = document.querySelector("[data-segment-sync]");
  const tessera = window.tessera;
  const NUMERIC = ["score", "integer", "month"];
  let previewTimer = null;

  function readJSON(selector) {
    const element = document.querySelector(selector);
    return element ? JSON.parse(element.textContent) : null;
  }

  function option(value, label, selected) {
    const element = document.createElement("option");
    element.value = value;
    element.textContent = label.replace(/_/g, " ");
    element.selected = value === selected;
    return element;
  }

  function labelled(control, text) {
    const label = document.createElement("label");
    label.className = "Field-label";
    const span = document.createElement("span");
    span.className = "VisuallyHidden";
    span.textContent = text;
    label.append(span, control);
    return label;
  }

  function conditionRow(fields, condition, index) {
    const row = document.createElement("li");
    row.className = "Inline";
    row.dataset.condition = "";
    const field = document.createElement("select");
    field.className = "Select";
    field.name = "field";
    Object.keys(fields).forEach((name) => field.append(option(name, name, condition.field)));
    const op = document.createElement("select");
    op.className = "Select";
    op.name = "op";
    const value = document.createElement("input");
    value.className = "Input";
    value.name = "value";
    const shown = condition.value;
    value.value = shown === undefined || shown === null ? "" : Array.isArray(shown) ? shown.join(", ") : String(shown);
    const fillOps = () => {
      const spec = fields[field.value];
      const current = op.value || condition.op;
      op.replaceChildren(...spec.ops.map((name) => option(name, name, current)));
      value.setAttribute("list", spec.choices ? "segment-choices-" + field.value : "");
    };
    field.addEventListener("change", fillOps);
    fillOps();
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "Button Button--slim";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", "Remove condition " + (index + 1));
    remove.addEventListener("click", () => { row.remove(); schedulePreview(); });
    const error = document.createElement("p");
    error.className = "Field-error";
    error.setAttribute("aria-live", "polite");
    error.dataset.errorFor = "conditions[" + index + "]";
    row.append(labelled(field, "Field"), labelled(op, "Operator"), labelled(value, "Value"), remove, error);
    return row;
  }

  function typedValue(kind, op, text) {
    if (op === "in") return text.split(",").map((part) => typedValue(kind, "eq", part.trim()));
    if (op === "within_days" || NUMERIC.includes(kind)) return text === "" ? text : Number(text);
    if (kind === "boolean") return text.toLowerCase() === "true" || text.toLowerCase() === "yes";
    return text;
  }

  function definition(fields) {
    const rows = Array.from(form.querySelectorAll("[data-condition]"));
    return {
      name: form.elements.name.value,
      match: form.querySelector("input[name=match]:checked").value,
      conditions: rows.map((row) => {
        const field = row.querySelector("[name=field]").value;
        const op = row.querySelector("[name=op]").value;
        return { field: field, op: op, value: typedValue(fields[field].kind, op, row.querySelector("[name=value]").value.trim()) };
      }),
    };
  }

  function showProblems(error) {
    form.querySelectorAll("[data-error-for]").forEach((slot) => { slot.textContent = ""; });
    (error.fields || []).forEach((problem) => {
      const slot = form.querySelector('[data-error-for="' + CSS.escape(problem.field) + '"]');
      if (slot) slot.textContent = problem.problem;
    });
  }

  function showSample(sample) {
    const list = document.querySelector("[data-sample]");
    list.replaceChildren(...sample.map((member) => {
      const item = document.createElement("li");
      item.textContent = member.name + " · " + member.lifecycle_stage.replace(/_/g, " ") + " · " + member.orders_count + " orders";
      return item;
    }));
  }

  async function preview(fields) {
    const response = await tessera.api("/api/v1/segments/preview", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(definition(fields)) });
    const body = await response.json();
    if (!response.ok) { showProblems(body.error); return; }
    showProblems({});
    document.querySelector("[data-live-count]").textContent = body.count.toLocaleString();
    showSample(body.sample);
  }

  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(() => preview(readJSON("[data-builder-options]").fields), 400);
  }

  async function save(event, fields) {
    event.preventDefault();
    const id = form.dataset.segmentId;
    const response = await tessera.api("/api/v1/segments" + (id ? "/" + id : ""), {
      method: id ? "PUT" : "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(definition(fields)) });
    const body = await response.json();
    if (!response.ok) { showProblems(body.error); return; }
    tessera.navigate("/segments/" + body.id + "?flash=" + encodeURIComponent("Segment saved: " + body.count + " members."));
  }

  function addChoiceLists(fields) {
    Object.entries(fields).filter(([, spec]) => spec.choices).forEach(([name, spec]) => {
      const list = document.createElement("datalist");
      list.id = "segment-choices-" + name;
      spec.choices.forEach((choice) => list.append(option(choice, choice)));
      form.append(list);
    });
  }

  if (form) {
    const fields = readJSON("[data-builder-options]").fields;
    const saved = readJSON("[data-builder-segment]") || {};
    const list = form.querySelector("[data-conditions]");
    const conditions = saved.conditions || [{ field: "lifecycle_stage", op: "eq", value: "at_risk" }];
    addChoiceLists(fields);
    conditions.forEach((condition, index) => list.append(conditionRow(fields, condition, index)));
    form.querySelector("[data-add-condition]").addEventListener("click", () => {
      list.append(conditionRow(fields, { field: "orders_count", op: "gte", value: 1 }, list.children.length));
      schedulePreview();
    });
    form.addEventListener("input", schedulePreview);
    form.addEventListener("change", schedulePreview);
    form.addEventListener("submit", (event) => save(event, fields));
    const remove = form.querySelector("[data-delete-segment]");
    if (remove) remove.addEventListener("click", async () => {
      const response = await tessera.api("/api/v1/segments/" + form.dataset.segmentId, { method: "DELETE" });
      if (response.ok) tessera.navigate("/segments?flash=" + encodeURIComponent("Segment deleted."));
      else showProblems({ fields: [{ field: "conditions", problem: (await response.json()).error.message }] });
    });
    if (!saved.id) schedulePreview();
  }

  if (syncForm) {
    syncForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const status = syncForm.querySelector("[data-sync-status]");
      const response = await tessera.api("/api/v1/segments/" + syncForm.dataset.segmentSync + "/sync", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ tag: syncForm.elements.tag.value.trim() || null }) });
      const body = await response.json();
      status.textContent = response.ok ? "Sync started: members get the tag " + body.shopify_tag + " in Shopify."
        : body.error.message;
    });
  }
})();
