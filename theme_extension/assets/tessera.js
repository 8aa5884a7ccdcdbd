// Tessera loader: runs on every page (deferred), so it only wires the server-rendered launcher
// and loads the panel script (tessera-panel.js) when it is first needed: a click, a pointer
// or keyboard approach to the launcher (prefetch), an inline rewards section, or a ?ref= landing.
(() => {
  const roots = [...document.querySelectorAll('[data-tessera]')];
  if (!roots.length) return;
  let loading = null;

  const panel = () => {
    loading = loading || new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = roots[0].dataset.panelSrc;
      script.onload = () => resolve(window.TesseraPanel);
      script.onerror = (event) => { loading = null; reject(event); };
      document.head.append(script);
    });
    return loading;
  };

  for (const root of roots) {
    if (root.dataset.tessera === 'inline') {
      panel().then((p) => p.mount(root));
      continue;
    }
    const launcher = root.querySelector('[data-tessera-launcher]');
    const prefetch = () => panel().catch(() => {});
    launcher.addEventListener('pointerenter', prefetch, { once: true });
    launcher.addEventListener('focus', prefetch, { once: true });
    launcher.addEventListener('click', () => panel().then((p) => p.toggle(root)));
  }

  const ref = new URLSearchParams(location.search).get('ref');
  if (ref) {
    const root = roots.find((r) => r.dataset.tessera === 'embed') || roots[0];
    panel().then((p) => p.landReferral(root, ref));
  }

  // The feedback request email links here (`?tessera=feedback`): open the widget at its form.
  if (new URLSearchParams(location.search).get('tessera') === 'feedback') {
    const root = roots.find((r) => r.dataset.tessera === 'embed') || roots[0];
    panel().then((p) => p.landOn(root, 'feedback'));
  }
})();
