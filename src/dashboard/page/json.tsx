// A collapsible, syntax-highlighted JSON view (the data inspector).
export function Json({ value, name, open = true, depth = 0 }: { value: unknown; name?: string; open?: boolean; depth?: number }) {
  const label = name !== undefined ? <span class="j-key">{JSON.stringify(name)}: </span> : null;
  if (value === null || typeof value !== 'object') {
    const kind = value === null ? 'null' : typeof value;
    return (
      <div class="j-line">
        {label}
        <span class={`j-${kind}`}>{value === undefined ? 'undefined' : JSON.stringify(value)}</span>
      </div>
    );
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as Record<string, unknown>);
  const [openBrace, closeBrace] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) {
    return (
      <div class="j-line">
        {label}
        <span class="j-punct">{openBrace + closeBrace}</span>
      </div>
    );
  }
  return (
    <details class="j-node" open={open && depth < 3}>
      <summary>
        {label}
        <span class="j-punct">{openBrace}</span>
        <span class="muted"> {entries.length} {Array.isArray(value) ? 'items' : 'keys'} </span>
      </summary>
      <div class="j-children">
        {entries.map(([k, v]) => (
          <Json value={v} name={Array.isArray(value) ? undefined : k} depth={depth + 1} open={open} />
        ))}
      </div>
      <span class="j-punct">{closeBrace}</span>
    </details>
  );
}
