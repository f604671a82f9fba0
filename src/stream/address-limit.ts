/** Counts open streams per client address, WebSocket and SSE together. */
export interface AddressLimit {
  readonly max: number;
  /** Takes a slot; false when the address already holds `max`. */
  acquire(address: string): boolean;
  release(address: string): void;
  /** Streams open from this address now. */
  count(address: string): number;
}

export function createAddressLimit(max: number): AddressLimit {
  const open = new Map<string, number>();
  return {
    max,
    acquire(address) {
      const count = open.get(address) ?? 0;
      if (count >= max) return false;
      open.set(address, count + 1);
      return true;
    },
    count: (address) => open.get(address) ?? 0,
    release(address) {
      const count = (open.get(address) ?? 1) - 1;
      if (count > 0) open.set(address, count);
      else open.delete(address);
    },
  };
}
