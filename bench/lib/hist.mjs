// HDR histograms: each load generator records raw samples into its own histogram (microsecond resolution),
// ships it encoded, and the orchestrator adds them up before reading percentiles.
import hdr from 'hdr-histogram-js';

export function createHistogram() {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

/** Records a latency in milliseconds (stored as microseconds). */
export function recordMs(histogram, ms) {
  histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
}

export function encode(histogram) {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function merge(encodedList) {
  const total = createHistogram();
  for (const encoded of encodedList) total.add(hdr.decodeFromCompressedBase64(encoded));
  return total;
}

export function summary(histogram) {
  const at = (p) => histogram.getValueAtPercentile(p) / 1000;
  return {
    count: histogram.totalCount,
    p50_ms: round(at(50)),
    p95_ms: round(at(95)),
    p99_ms: round(at(99)),
    max_ms: round(histogram.maxValue / 1000),
    mean_ms: round(histogram.mean / 1000),
  };
}

export function round(n, digits = 2) {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The shape record of a loadgen `send` result ({ msgs_per_s, latency summary, errors }) or `history` result
 * ({ req_per_s, latency summary, errors }).
 */
export function shapeOf(result) {
  const latency = summary(merge([result.hist]));
  return result.requests === undefined
    ? { msgs_per_s: round(result.sent / result.seconds, 0), ...latency, errors: result.errors }
    : { req_per_s: round(result.requests / result.seconds, 0), ...latency, errors: result.errors };
}
