// The API reference at /api/docs: one self-contained HTML page rendered on
// the server from the OpenAPI document, with no script and nothing fetched
// from elsewhere (many deployments have no internet).

type Json = Record<string, unknown>;

const esc = (value: unknown): string =>
  String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A schema as a compact type expression: `{ pipeline: string, priority?: "high" | … }`. */
function typeOf(schema: Json | undefined, components: Json, depth = 0): string {
  if (!schema) return 'any';
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.split('/').pop()!;
    return `<a href="#schema-${esc(name)}">${esc(name)}</a>`;
  }
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => esc(JSON.stringify(v))).join(' | ');
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as Json[]).map((s) => typeOf(s, components, depth)).join(' | ');
  if (Array.isArray(schema.oneOf)) return (schema.oneOf as Json[]).map((s) => typeOf(s, components, depth)).join(' | ');
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : (schema.type as string | undefined);
  if (type === 'array') return `${typeOf(schema.items as Json, components, depth)}[]`;
  if (type === 'object' || schema.properties) {
    const props = (schema.properties ?? {}) as Record<string, Json>;
    const required = new Set((schema.required ?? []) as string[]);
    const keys = Object.keys(props);
    if (keys.length === 0) return 'object';
    if (depth > 2) return 'object';
    return `{ ${keys.map((k) => `${esc(k)}${required.has(k) ? '' : '?'}: ${typeOf(props[k], components, depth + 1)}`).join(', ')} }`;
  }
  return esc(type ?? 'any');
}

export function renderReference(doc: Json): string {
  const info = (doc.info ?? {}) as Json;
  const components = ((doc.components ?? {}) as Json).schemas as Json | undefined ?? {};
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  const byTag = new Map<string, string[]>();
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = ((op.tags as string[] | undefined) ?? ['other'])[0]!;
      const params = ((op.parameters ?? []) as Json[])
        .map((p) => `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}${p.required ? ', required' : ''}</td><td>${typeOf(p.schema as Json, components)}</td><td>${esc((p.schema as Json | undefined)?.description ?? p.description ?? '')}</td></tr>`)
        .join('');
      const body = ((op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined)?.['application/json']?.schema as Json | undefined;
      const responses = Object.entries((op.responses ?? {}) as Record<string, Json>)
        .map(([status, r]) => {
          const content = (r.content ?? {}) as Record<string, Json>;
          const schema = Object.values(content)[0]?.schema as Json | undefined;
          return `<li><b>${esc(status)}</b> ${esc(r.description)}${schema ? `: <code>${typeOf(schema, components)}</code>` : ''}</li>`;
        })
        .join('');
      const html = `<section class="op" id="${esc(method)}-${esc(path)}">
<h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p>${esc(op.summary)}${op.description ? `<br>${esc(op.description)}` : ''}</p>
${params ? `<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>${params}</table>` : ''}
${body ? `<p>Body: <code>${typeOf(body, components)}</code></p>` : ''}
<ul>${responses}</ul></section>`;
      byTag.set(tag, [...(byTag.get(tag) ?? []), html]);
    }
  }
  const schemas = Object.entries(components as Record<string, Json>)
    .map(([name, schema]) => `<section id="schema-${esc(name)}"><h3>${esc(name)}</h3><code>${typeOf({ ...schema, $ref: undefined }, components)}</code></section>`)
    .join('');
  const toc = [...byTag.keys()].map((tag) => `<a href="#tag-${esc(tag)}">${esc(tag)}</a>`).join(' · ');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(info.title)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
code{font:13px ui-monospace,monospace;background:#f4f4f4;padding:0 .2em}.op{border-top:1px solid #ddd;padding:.5rem 0}
.m{display:inline-block;min-width:4.5em;font:bold 13px ui-monospace,monospace;color:#fff;background:#555;padding:.1em .4em;border-radius:3px;text-align:center}
.m.get{background:#2a7}.m.post{background:#27a}.m.put{background:#a72}.m.delete{background:#a22}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left}</style>
</head><body><h1>${esc(info.title)} <small>v${esc(info.version)}</small></h1><p>${esc(info.description)}</p>
<p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI ${esc(doc.openapi)}). Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>.</p>
<nav>${toc} · <a href="#schemas">schemas</a></nav>
${[...byTag.entries()].map(([tag, ops]) => `<h2 id="tag-${esc(tag)}">${esc(tag)}</h2>${ops.join('')}`).join('')}
<h2 id="schemas">Schemas</h2>${schemas}</body></html>`;
}
