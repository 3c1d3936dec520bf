// actions/cache stand-in, post step: save unless the exact key was restored (see store.js).
"use strict";
const { parsePaths, save, input } = require("./store");

try {
  const key = process.env.STATE_CACHE_KEY;
  if (!key) throw new Error("cache stand-in: no key in the main step's state (did it run?)");
  if (process.env.STATE_CACHE_RESULT === key) {
    console.log(`Cache hit occurred on the primary key ${key}, not saving cache.`);
  } else {
    const r = save(key, parsePaths(input("path")));
    console.log(r.warn ? `::warning::${r.warn}` : r.info);
  }
} catch (e) {
  console.log(`::error::${e.message}`);
  process.exitCode = 1;
}
