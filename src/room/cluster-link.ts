// What the cluster room needs from the bus that joins the nodes (Redis, in src/cluster/): atomic
// nick claims, a join order, and one ordered stream of every node's room events. The room never
// sees Redis; a test or another bus can implement this.

/** A member as the cluster knows it: its node-local id, nick and place in the join order. */
export interface MemberInfo {
  id: number;
  nick: string;
  /** Cluster join order: /who sorts by it. */
  seq: number;
}

/** What nodes tell each other, in one stream all nodes see in the same order. */
export type RoomEvent =
  | { k: 'join'; node: string; id: number; nick: string; seq: number }
  | { k: 'leave'; node: string; id: number; nick: string; reason: string }
  | { k: 'rename'; node: string; id: number; from: string; to: string }
  | { k: 'say'; node: string; nick: string; text: string }
  | { k: 'act'; node: string; nick: string; text: string }
  /** A node (re)registered: its members now, which replace what others knew of it. */
  | { k: 'sync'; node: string; members: MemberInfo[] }
  /** A node left the cluster on purpose (shutdown): all its members leave with reason. */
  | { k: 'down'; node: string; reason: string }
  /** A node stopped beating and was reaped: all its members leave (node lost). */
  | { k: 'lost'; node: string };

/** A member the bus had to rename while re-registering (its nick was taken meanwhile). */
export interface Renamed {
  id: number;
  from: string;
  to: string;
}

/** The bus, as the room uses it. Every call is ordered after the calls made before it. */
export interface ClusterLink {
  /** This node's id in the cluster: new for every process. */
  readonly node: string;
  /** Claims a guest nick and a join number for member id and announces the join. Rejects when
   *  the cluster is unreachable. */
  join(id: number): Promise<{ nick: string; seq: number }>;
  /** Claims nick for member id, frees its old one and announces the rename; false if taken. */
  rename(id: number, nick: string): Promise<boolean>;
  /** Frees member id's nick and announces its leave. Best effort: a lost one is mended by register(). */
  leave(id: number, reason: string): void;
  /** Announces a line (say) or an action (act). Best effort. */
  publish(event: Extract<RoomEvent, { k: 'say' | 'act' }>): void;
  /** Registers this node with exactly these members (re-claiming their nicks, renaming those
   *  taken meanwhile), then delivers a snapshot of the cluster to the handler. */
  register(members: MemberInfo[], highestSeq: number): Promise<Renamed[]>;
  /** Leaves the cluster: every member of this node leaves with reason. */
  depart(reason: string): Promise<void>;
}

/** What the bus tells the room. Calls arrive on Node's event loop, outside any select() round. */
export interface ClusterHandler {
  /** Connected (again): register. */
  connected(): void;
  /** The cluster became unreachable. */
  disconnected(): void;
  /** Another node's event, in stream order. */
  event(event: RoomEvent): void;
  /** Every registered node's members, as of this point of the stream. */
  snapshot(nodes: Map<string, MemberInfo[]>): void;
  /** The nodes whose heartbeat is alive (checked periodically, not right after a reconnect). */
  alive(nodes: ReadonlySet<string>): void;
}
