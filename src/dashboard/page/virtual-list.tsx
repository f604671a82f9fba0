import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * A fixed-row-height virtualised list: only the rows in view (plus a few)
 * are in the DOM, so 10,000 jobs or 20,000 events scroll smoothly.
 */
export function VirtualList<T>(props: {
  items: readonly T[];
  rowHeight: number;
  height: number;
  label: string;
  render: (item: T, index: number) => ComponentChildren;
  testid?: string;
}) {
  const { items, rowHeight, height, render } = props;
  const ref = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (el && el.scrollTop > items.length * rowHeight) el.scrollTop = 0;
  }, [items.length, rowHeight]);
  const first = Math.max(0, Math.floor(top / rowHeight) - 5);
  const last = Math.min(items.length, Math.ceil((top + height) / rowHeight) + 5);
  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i += 1) rows.push(render(items[i]!, i));
  return (
    <div
      ref={ref}
      class="vlist"
      style={{ height: `${height}px` }}
      onScroll={(e) => setTop((e.target as HTMLDivElement).scrollTop)}
      role="table"
      aria-label={props.label}
      aria-rowcount={items.length}
      tabIndex={0}
      data-testid={props.testid}
    >
      <div role="rowgroup" style={{ height: `${items.length * rowHeight}px`, position: 'relative' }}>
        <div style={{ transform: `translateY(${first * rowHeight}px)` }}>{rows}</div>
      </div>
    </div>
  );
}
