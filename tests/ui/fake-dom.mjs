// Just enough of a DOM for dom.js: elements with attributes and children, and text nodes.
export function installFakeDocument() {
  const make = (tag) => ({
    nodeType: 1, tagName: tag, attributes: {}, childNodes: [], listeners: {},
    get firstChild() { return this.childNodes[0] || null; },
    setAttribute(name, value) { this.attributes[name] = String(value); },
    appendChild(child) { this.childNodes.push(child); return child; },
    removeChild(child) { this.childNodes.splice(this.childNodes.indexOf(child), 1); return child; },
    addEventListener(type, fn) { this.listeners[type] = fn; },
  });
  globalThis.document = {
    createElement: make,
    createElementNS: (ns, tag) => ({...make(tag), namespaceURI: ns}),
    createTextNode: (text) => ({nodeType: 3, textContent: text}),
  };
}
