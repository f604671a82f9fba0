import * as hdr from 'hdr-histogram-js';

/** Latency recorder in microseconds, reporting milliseconds. */
export class Latencies {
  readonly #histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

  /** Records one latency given in milliseconds. */
  record(ms: number): void {
    this.#histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  get count(): number {
    return this.#histogram.totalCount;
  }

  /** Percentile in milliseconds, rounded to 3 decimals. */
  p(percentile: number): number {
    return round(this.#histogram.getValueAtPercentile(percentile) / 1000, 3);
  }
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
