// The hand-countable clickstream of tests/fixtures/clickstream/clicks.csv and what prepareEvents must make of it,
// counted by hand. The file: 43 rows `user_id,timestamp,item_id,device`, no session column, ISO timestamps with a
// zone (Z, +02:00, -05:00, -01:00), string item ids, one categorical column (device).
//
// Its sessions at a 30-minute gap (times in UTC; "×2" = a consecutive repeat; S-numbers by first event):
//   S1  u1 03-01 09:00 shoes socks hat scarf     the last click comes exactly 30:00 after hat: same session
//   S2  u2 03-01 08:00 socks×2 hat               (written 10:00+02:00)
//   S3  u1 03-01 10:10:01 gloves shoes           30:01 after S1's last click: a new session
//   S4  u3 03-01 12:00 umbrella                  one event
//   S5  u2 03-02 09:00 shoes umbrella shoes
//   S6  u4 03-02 10:00 hat scarf gloves
//   S7  u5 03-02 16:00 shoes socks gloves×2      (written 11:00-05:00)
//   S8  u1 03-03 09:00 socks gloves scarf
//   S9  u6 03-03 14:00 gloves hat
//   S10 u3 03-04 00:50 hat shoes socks           (written 2024-03-03T23:50-01:00: the 3rd locally, the 4th in UTC)
//   S11 u4 03-04 08:00 shoes scarf socks
//   S12 u2 03-04 09:00 scarf umbrella            umbrella exactly 30:00 after scarf: same session
//   S13 u5 03-04 10:00 belt shoes
//   S14 u6 03-04 10:30 belt socks belt hat
//   S15 u1 03-04 11:00 belt×2 scarf belt
// Per user: u1 S1 S3 S8 S15, u2 S2 S5 S12, u3 S4 S10, u4 S6 S11, u5 S7 S13, u6 S9 S14 → 4+3+2+2+2+2 = 15 sessions.
//
// Cleaning with the defaults (repeats removed, minLength 2, minItemSupport 5), in the recipe's order:
//   repeats: S2, S7, S15 lose one click each → 3 dropped, 40 events left;
//   sessions shorter than 2: S4 (1 event) → 39 left;
//   item support over those 39: shoes 8, socks 7, hat 6, scarf 6, gloves 5, belt 5, umbrella 2 (S5, S12) → umbrella's
//   2 events dropped, 37 left; S5 becomes "shoes shoes", S12 "scarf";
//   sessions shorter than 2 again: S12 → 36 events in 13 sessions on 6 items (shortSessions: S4 + S12 = 2 events).

export const CLICKSTREAM_ROWS = 43;
export const CLICKSTREAM_SESSIONS = 15;
// The only gaps between 29 and 31 minutes are S1's and S12's 30:00 and S1 → S3's 30:01: a 29-minute gap also cuts
// S1 and S12 (17 sessions), a 31-minute gap joins S1 and S3 (14).
export const SESSIONS_AT_GAP = { 29: 17, 30: 15, 31: 14 };
export const CLICKSTREAM_USERS = 6;
export const CLEANING = {
  dropped: { repeats: 3, shortSessions: 2, rareItems: 2 },
  kept: { events: 36, sessions: 13, items: 6 },
};

// The ids a vocabulary gives: 2.. by count on train (descending), ties by value.

/**
 * split by date 2024-03-04 (sessions starting before it, in UTC → train): train S1 S2 S3 S5 S6 S7 S8 S9 (21 events),
 * test S10 S11 S13 S14 S15 (S10 starts 00:50 UTC on the 4th).
 *   train counts: gloves 5 (S3 S6 S7 S8 S9), shoes 5 (S1 S3 S5×2 S7), hat 4, socks 4, scarf 3 → ids gloves 2, shoes 3,
 *   hat 4, socks 5, scarf 6 (cardinality 7); device: mobile 11 (S1 4, S5 2, S7 3, S9 2), desktop 10 → mobile 2, desktop 3;
 *   train rows: S5 "shoes shoes" loses its repeat in the workflow and, one event long, is dropped → 7 sessions;
 *   test rows: belt is unseen in train and dropped: S13 → "shoes", S15 → "scarf" (too short, dropped),
 *   S14 → "socks hat"; S10, S11 whole → 3 sessions.
 */
export const BY_DATE = {
  split: { by: "date", date: "2024-03-04" } as const,
  items: ["gloves", "shoes", "hat", "socks", "scarf"],
  devices: ["mobile", "desktop"],
  splits: { train: 7, test: 3 },
  // In order of first event: S2 S1 S3 S6 S7 S8 S9 (S5 dropped).
  train: [
    [5, 4],
    [3, 5, 4, 6],
    [2, 3],
    [4, 6, 2],
    [3, 5, 2],
    [5, 2, 6],
    [2, 4],
  ],
  // S10 hat shoes socks, S11 shoes scarf socks, S14 socks hat.
  test: [
    [4, 3, 5],
    [3, 6, 5],
    [5, 4],
  ],
};

/**
 * BY_DATE with validation carved at 2024-03-03: valid S8 S9; train S1 S2 S3 S5 S6 S7 (16 events): shoes 5, then
 * gloves, hat, socks 3 each, scarf 2 → ids shoes 2, gloves 3, hat 4, socks 5, scarf 6; train rows 5 (S5 dropped),
 * valid 2 (S8 socks gloves scarf, S9 gloves hat), test 3 as in BY_DATE (all its items known).
 */
export const BY_DATE_WITH_VALIDATION = {
  split: BY_DATE.split,
  validation: { by: "date", date: "2024-03-03" } as const,
  items: ["shoes", "gloves", "hat", "socks", "scarf"],
  splits: { train: 5, valid: 2, test: 3 },
  valid: [
    [5, 3, 6],
    [3, 4],
  ],
  // BY_DATE's test rows in these ids: S10 hat shoes socks, S11 shoes scarf socks, S14 socks hat.
  test: [
    [4, 2, 5],
    [2, 6, 5],
    [5, 4],
  ],
};

/**
 * The last 1 day: the last event is 03-04 11:03 (S15), so sessions starting at or after 03-03 11:03 → test: S9 S10 S11
 * S13 S14 S15; train S1 S2 S3 S5 S6 S7 S8 (19 events): shoes 5, gloves 4, socks 4, hat 3, scarf 3; train rows 6 (S5
 * dropped); test rows S9 S10 S11 S14 = 4 (S13, S15 are one event once belt is dropped).
 */
export const LAST_DAY = {
  split: { by: "lastDays", days: 1 } as const,
  items: ["shoes", "gloves", "socks", "hat", "scarf"],
  splits: { train: 6, test: 4 },
};

/**
 * The last quarter of sessions: round(0.25 × 13) = 3 sessions by start time → S13 S14 S15; train the other 10. Test
 * rows: only S14 ("socks hat"); train rows 9 (S5 dropped).
 */
export const LAST_QUARTER = {
  split: { by: "fraction", fraction: 0.25 } as const,
  splits: { train: 9, test: 1 },
};

/**
 * Leave-one-out: rows are users' whole histories (the gap plays no part). Repeats inside a user's stream: the same 3
 * (S2, S7, S15) → 40 events; every user has >= 2; supports as above but umbrella has 3 (S4 counts now) → dropped, 37
 * events, 6 users, 6 items. Test rows: the 6 whole histories; train rows: all but each user's last event (31 events):
 * shoes 7, gloves 5, hat 5, scarf 5, socks 5, belt 4 → ids shoes 2, gloves 3, hat 4, scarf 5, socks 6, belt 7.
 * u2's train row "socks hat shoes shoes" (umbrella gone) loses a repeat in the workflow: 3 events, kept → 6 train rows.
 */
export const LEAVE_ONE_OUT = {
  split: { by: "leaveOneOut" } as const,
  dropped: { repeats: 3, shortSessions: 0, rareItems: 3 },
  kept: { events: 37, sessions: 6, items: 6 },
  items: ["shoes", "gloves", "hat", "scarf", "socks", "belt"],
  splits: { train: 6, test: 6 },
  // The held-out (last) item of each user, in order of first kept event: u2 scarf, u1 belt, u4 socks, u5 shoes, u6 hat,
  // u3 socks (u3's first event, umbrella, is gone: its history starts 03-04).
  testTargets: [5, 7, 6, 2, 4, 6],
};

/**
 * Leave-one-out twice (validation the same way): users need 3 events (all have); train rows are all but the last two
 * events; u3's ("hat") is one event and dropped → train 5, valid 6, test 6.
 */
export const LEAVE_ONE_OUT_WITH_VALIDATION = {
  split: LEAVE_ONE_OUT.split,
  validation: { by: "leaveOneOut" } as const,
  splits: { train: 5, valid: 6, test: 6 },
};
