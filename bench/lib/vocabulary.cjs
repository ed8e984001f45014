// The search benches' vocabulary (search-worker.cjs's seeded corpus and sends, search-api.mjs's sends): a
// Zipf-like one, word k with weight 1/(k+1), so queries hit rare and common words alike.
'use strict';

const VOCABULARY = Array.from({ length: 5000 }, (_, k) => `w${k.toString(36)}x`);
const cumulative = [];
VOCABULARY.reduce((sum, _, k) => (cumulative[k] = sum + 1 / (k + 1)), 0);
const totalWeight = cumulative[cumulative.length - 1];

/** A word drawn by its weight, with `random` (a [0, 1) source: seeded where a corpus must repeat). */
function zipfWord(random = Math.random) {
  const x = random() * totalWeight;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return VOCABULARY[lo];
}

module.exports = { VOCABULARY, zipfWord };
