// The diagram frame (/flows/diagram-frame): Mermaid draws here, hidden off-screen in the editor
// page, because Mermaid measures its labels with inline styles that the editor page's strict
// Content-Security-Policy refuses. This frame's policy allows inline styles but, like every
// page, only our own scripts. The editor posts {id, text}; the frame answers {id, svg} or
// {id, error}, with the SVG's <style> text apart and its style attributes as data-style, which
// the editor puts into the CSS object model (allowed by its policy) before showing the SVG.
window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", flowchart: { htmlLabels: true } });
window.addEventListener("message", async (event) => {
  if (event.origin !== window.location.origin || event.source !== window.parent) return;
  const { id, text } = event.data || {};
  if (typeof id !== "number" || typeof text !== "string") return;
  try {
    const { svg } = await window.mermaid.render(`flowsvg${id}`, text);
    // the editor page may not parse a <style> or a style attribute: hand them over apart
    const doc = new DOMParser().parseFromString(`<body>${svg}</body>`, "text/html");
    const css = [];
    doc.querySelectorAll("style").forEach((el) => { css.push(el.textContent); el.remove(); });
    doc.querySelectorAll("[style]").forEach((el) => {
      el.setAttribute("data-style", el.getAttribute("style"));
      el.removeAttribute("style");
    });
    window.parent.postMessage({ id, svg: doc.body.innerHTML, css: css.join("\n") }, window.location.origin);
  } catch (e) {
    window.parent.postMessage({ id, error: String(e) }, window.location.origin);
  }
});
window.parent.postMessage({ ready: true }, window.location.origin);
