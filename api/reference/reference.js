// The API reference: renders /api/openapi.json with DOM calls only (no markup from the document
// is interpreted), so the page works offline and under a strict Content-Security-Policy.
'use strict';

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) if (c !== undefined && c !== null) node.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return node;
}

function anchor(op) {
  return `op-${op.operationId}`;
}

/** A schema with its component references written out once (cycles stop at the name). */
function expand(schema, components, seen = new Set()) {
  if (Array.isArray(schema)) return schema.map((s) => expand(s, components, seen));
  if (!schema || typeof schema !== 'object') return schema;
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.split('/').pop();
    if (seen.has(name) || !components[name]) return { $ref: name };
    return expand(components[name], components, new Set([...seen, name]));
  }
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, expand(v, components, seen)]));
}

function schemaBlock(title, schema, components) {
  return el('details', {}, el('summary', {}, title), el('pre', {}, JSON.stringify(expand(schema, components), null, 2)));
}

function operation(path, method, op, components) {
  const section = el('section', { class: 'op', id: anchor(op) });
  section.append(el('h3', {}, el('span', { class: `method ${method.toUpperCase()}` }, method.toUpperCase()), el('code', {}, path)));
  section.append(el('p', {}, op.summary || ''));
  for (const para of (op.description || '').split('\n\n')) if (para) section.append(el('p', { class: 'access' }, para));
  const security = (op.security || []).map((s) => Object.keys(s).join(' + ')).join(' or ');
  section.append(el('p', { class: 'access' }, `Credential: ${security || 'none'}`));
  if (op.parameters && op.parameters.length) {
    const rows = op.parameters.map((p) => el('tr', {}, el('td', {}, el('code', {}, p.name)), el('td', {}, p.in), el('td', {}, p.required ? 'required' : 'optional'), el('td', {}, el('code', {}, JSON.stringify(p.schema)))));
    section.append(el('table', {}, el('tr', {}, el('th', {}, 'parameter'), el('th', {}, 'in'), el('th', {}, ''), el('th', {}, 'schema')), ...rows));
  }
  if (op.requestBody) {
    for (const [type, media] of Object.entries(op.requestBody.content)) section.append(schemaBlock(`Request body (${type})`, media.schema, components));
  }
  for (const [status, res] of Object.entries(op.responses)) {
    const media = Object.entries(res.content || {});
    if (media.length === 0) section.append(el('p', {}, el('strong', {}, status), ` ${res.description}`));
    for (const [type, m] of media) section.append(schemaBlock(`${status} ${res.description} (${type})`, m.schema, components));
  }
  return section;
}

async function main() {
  const main = document.getElementById('operations');
  const toc = document.getElementById('toc');
  let doc;
  try {
    const res = await fetch('/api/openapi.json');
    doc = await res.json();
  } catch (err) {
    main.replaceChildren(el('p', {}, `The document could not be read: ${err}`));
    return;
  }
  const components = (doc.components && doc.components.schemas) || {};
  const byTag = new Map();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = (op.tags && op.tags[0]) || 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([path, method, op]);
    }
  }
  document.title = `${doc.info.title} ${doc.info.version}`;
  main.replaceChildren(el('p', {}, doc.info.description || ''));
  for (const [tag, ops] of byTag) {
    toc.append(el('h2', {}, tag));
    main.append(el('h2', { id: `tag-${tag}` }, tag));
    for (const [path, method, op] of ops) {
      toc.append(el('a', { href: `#${anchor(op)}` }, `${method.toUpperCase()} ${path}`));
      main.append(operation(path, method, op, components));
    }
  }
}

main();
