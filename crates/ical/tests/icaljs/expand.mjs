// Expands calendars as Thunderbird's parser (ical.js) does, applying iTIP messages in order.
//
// Usage: node expand.mjs FILE...
//
// Each FILE is a calendar as received (an invitation, an update, a cancellation) or published (a
// feed). They are applied in order, as a calendar client applies the messages it receives: an
// event without RECURRENCE-ID replaces the stored event with its UID; an event with one replaces
// that occurrence (an override); a METHOD:CANCEL event with a RECURRENCE-ID removes that
// occurrence (EXDATE), without one the whole event. Every VTIMEZONE is registered with ical.js's
// TimezoneService, so local times are read through the file's own zone definitions.
//
// Prints {"occurrences": [UTC starts, sorted], "ends": [UTC ends, same order]} as JSON.
// Exits 3 with an install hint when ical.js is missing.

import { readFileSync } from "node:fs";

let ICAL;
try {
  ICAL = (await import("ical.js")).default;
} catch (err) {
  console.error(`MISSING: ical.js (${err.message}); install with: npm ci --prefix crates/ical/tests/icaljs`);
  process.exit(3);
}

const utc = (time) => time.toJSDate().toISOString().replace(/\.\d{3}Z$/, "Z");

// uid -> { master: Component|null, overrides: Map(ridString -> Component), cancelled: [Time] }
const store = new Map();
const entry = (uid) => {
  if (!store.has(uid)) store.set(uid, { master: null, overrides: new Map(), cancelled: [] });
  return store.get(uid);
};

for (const file of process.argv.slice(2)) {
  const root = new ICAL.Component(ICAL.parse(readFileSync(file, "utf8")));
  for (const vtz of root.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(vtz);
  }
  const method = root.getFirstPropertyValue("method");
  for (const vevent of root.getAllSubcomponents("vevent")) {
    const uid = vevent.getFirstPropertyValue("uid");
    const rid = vevent.getFirstPropertyValue("recurrence-id");
    const e = entry(uid);
    if (method === "CANCEL") {
      if (rid) {
        e.cancelled.push(rid);
        e.overrides.delete(rid.toString());
      } else {
        store.delete(uid);
      }
    } else if (rid) {
      e.overrides.set(rid.toString(), vevent);
    } else {
      e.master = vevent;
      e.overrides.clear();
      e.cancelled = [];
      // Overrides sent with the master belong to it: they follow in the same file.
    }
  }
}

const found = [];
for (const [uid, e] of store) {
  if (!e.master) {
    for (const o of e.overrides.values()) {
      const ev = new ICAL.Event(o);
      found.push([utc(ev.startDate), utc(ev.endDate)]);
    }
    continue;
  }
  for (const rid of e.cancelled) {
    e.master.addPropertyWithValue("exdate", rid);
  }
  const event = new ICAL.Event(e.master);
  for (const o of e.overrides.values()) {
    event.relateException(new ICAL.Event(o));
  }
  if (!event.isRecurring()) {
    found.push([utc(event.startDate), utc(event.endDate)]);
    continue;
  }
  const it = event.iterator();
  for (let next = it.next(), n = 0; next && n < 5000; next = it.next(), n++) {
    const d = event.getOccurrenceDetails(next);
    found.push([utc(d.startDate), utc(d.endDate)]);
  }
  void uid;
}
found.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
console.log(JSON.stringify({ occurrences: found.map((f) => f[0]), ends: found.map((f) => f[1]) }));
