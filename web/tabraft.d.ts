// TypeScript declarations of tabraft's JavaScript API: what the page gets
// once tabraft.wasm is running in the tab (see web/tabraft.js, the loader).
//
//   const tabraft = await loadTabraft();            // from tabraft.js
//   const m = await tabraft.join({ room: "demo" }); // this tab becomes a member
//   const r = await m.propose({ op: "set", key: "3,4", val: "#e33" });
//   const v = await m.read("3,4");                  // linearizable
//   m.on("applied", e => render(e));
//
// Every method that can fail returns a Promise that rejects with an Error
// whose message says what went wrong ("tabraft: no leader", "tabraft: member
// stopped", "tabraft: invalid op: ...", "tabraft: timeout").

/** A member id: the Raft id in lower-case hexadecimal, without leading zeros. */
export type MemberID = string;

export interface JoinOptions {
  /** Signaling WebSocket URL. Default: ws(s)://<this origin>/ws. */
  signal?: string;
  /** Room of the cluster. Default "demo". */
  room?: string;
  /**
   * Member id. Default: this tab's id, kept in sessionStorage so that a
   * reload of the tab comes back as the same member (other tabs of the same
   * origin get their own).
   */
  id?: MemberID;
  /** Keep the log, hard state and snapshots in IndexedDB. Default true. */
  persist?: boolean;
  /** Number of voters the cluster aims for (odd). Default 5. */
  targetVoters?: number;
  /** A member silent for longer than this is removed. Default 5000 ms. */
  deadTimeoutMs?: number;
  /** Default "info"; logs go to the browser console. */
  logLevel?: "debug" | "info" | "warn" | "error";
}

/** One command on the shared board. Keys and values are free-form strings. */
export type Op =
  | { op: "set"; key: string; val: string }
  | { op: "del"; key: string }
  | { op: "clear" };

/** What applying an Op returned. */
export interface Result {
  /** Operations applied so far (the board's version), this one included. */
  version: number;
  /** Set when the operation was invalid; it then changed nothing. */
  err?: string;
}

export type Role = "leader" | "follower" | "candidate" | "precandidate" | "stopped";

/** The leader's view of one member's log. */
export interface Progress {
  match: number;
  next: number;
  /** "probe", "replicate" or "snapshot". */
  state: string;
  learner: boolean;
  /** Milliseconds since the leader last heard from it. */
  lastHeardMs: number;
}

export interface Status {
  id: MemberID;
  room: string;
  role: Role;
  term: number;
  /** The leader this member knows of, "" if none. */
  leader: MemberID;
  commit: number;
  applied: number;
  firstIndex: number;
  lastIndex: number;
  /** The voters; during a membership change, of both configurations (see joint). */
  voters: MemberID[];
  learners: MemberID[];
  /**
   * Only while a membership change is in progress (joint consensus): the
   * voters of the configuration being left and of the one being entered,
   * each of which must agree to commit.
   */
  joint?: { outgoing: MemberID[]; incoming: MemberID[] };
  /** Only on the leader: every member's progress. */
  progress?: Record<MemberID, Progress>;
  /** Hash of the applied board: equal on members that applied the same entries. */
  hash: string;
  /** Board version (operations applied). */
  version: number;
  /** Raft messages per second, sent and received, over the last second. */
  msgsOutPerSec: number;
  msgsInPerSec: number;
  /** Members of the room and whether a data channel to them is open. */
  peers: { id: MemberID; connected: boolean }[];
  /** True while disconnect() has cut this member off. */
  disconnected: boolean;
  /** Human-readable note on the cluster's state, e.g. why no leader can be elected. */
  note: string;
}

export interface AppliedEvent {
  index: number;
  term: number;
  op: Op | null; // null for entries that are not board operations
  result: Result | null;
  hash: string;
}

export interface Events {
  role: { role: Role; term: number; leader: MemberID };
  term: { term: number };
  membership: { voters: MemberID[]; learners: MemberID[] };
  applied: AppliedEvent;
  /** A snapshot replaced the board: re-read it. */
  restored: { index: number; hash: string };
  error: { message: string };
}

export interface Member {
  readonly id: MemberID;
  readonly room: string;
  /** Replicates op and resolves with its result once applied on this member. */
  propose(op: Op): Promise<Result>;
  /** Proposes many ops at once (one batch); resolves with their results in order. */
  proposeBatch(ops: Op[]): Promise<Result[]>;
  /** Linearizable read of one cell ("" if unset), or of the whole board. */
  read(key: string): Promise<string>;
  read(): Promise<Record<string, string>>;
  /** The board as this member has applied it (not linearizable, instant). */
  cells(): Record<string, string>;
  status(): Promise<Status>;
  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof Events>(event: K, cb: (e: Events[K]) => void): () => void;
  /** Hands leadership to `to`, or to the most up-to-date voter. */
  transferLeadership(to?: MemberID): Promise<void>;
  /** Cuts this member off the network (messages dropped both ways); reconnect() heals. */
  disconnect(): void;
  reconnect(): void;
  /** Stops the member, keeping its storage; restart() brings it back with its state. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /**
   * Leaves the cluster for good: a leader hands leadership over first, then
   * the member asks to be removed and stops. (On pagehide a leader only
   * hands leadership over: a reloaded tab keeps its place, and a closed one
   * is removed once silent for deadTimeoutMs.)
   */
  leave(): Promise<void>;
  /**
   * Explicit recovery when every other voter is gone for good: starts a new
   * cluster of this member alone from its own copy, losing what it had not
   * committed. Never automatic.
   */
  recoverAlone(): Promise<void>;
}

export interface Tabraft {
  readonly version: string;
  join(opts?: JoinOptions): Promise<Member>;
}

/** Loads tabraft.wasm (and wasm_exec.js) once; resolves with the API. */
export function loadTabraft(wasmURL?: string): Promise<Tabraft>;
