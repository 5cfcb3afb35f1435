/* runlake web page: what every page's script needs of the API and the DOM (the one error
   the API answers, its JSON fetch, and an element builder), as window.RunlakeApi. */
"use strict";

(function (root) {
  class ApiFailure extends Error {
    constructor(status, body) {
      super((body && body.error) || "request failed with status " + status);
      this.status = status;
      this.details = (body && body.errors) || [];
    }
  }

  async function getJson(url) {
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    } catch (err) {
      throw new ApiFailure(0, { error: "the service cannot be reached", errors: [String(err)] });
    }
    let body = null;
    try { body = await response.json(); } catch (err) { body = null; }
    if (!response.ok) throw new ApiFailure(response.status, body);
    return body;
  }

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else node.setAttribute(k, v);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  root.RunlakeApi = { ApiFailure, getJson, h };
})(window);
