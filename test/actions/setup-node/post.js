// setup-node stand-in, post step: with cache: npm, saves npm's cache folder unless its key was restored.
"use strict";
const path = require("node:path");
const { save } = require(path.join(process.env.MIRROR_FLEET_ROOT || "", "test/actions/cache/store.js"));

try {
  const key = process.env.STATE_CACHE_KEY;
  if (!key) {
    // No cache: asked for; nothing to save.
  } else if (process.env.STATE_CACHE_RESULT === key) {
    console.log(`Cache hit occurred on the primary key ${key}, not saving cache.`);
  } else {
    const r = save(key, [process.env.STATE_CACHE_PATH]);
    console.log(r.warn ? `::warning::${r.warn}` : r.info);
  }
} catch (e) {
  console.log(`::error::${e.message}`);
  process.exitCode = 1;
}
