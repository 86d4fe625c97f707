/** An IFB device: created up, with its MTU, in one message. */
export interface IfbLink {
  kind: 'ifb';
  name: string;
  mtu?: number;
  up?: boolean;
  txqlen?: number;
}

/** A link as read back. */
export interface LinkState {
  type: 'link';
  index: number;
  name: string;
  kind?: string;
  mtu?: number;
  txqlen?: number;
  up: boolean;
  flags: number;
  /** The peer's index for a veth (in its namespace). */
  linkIndex?: number;
  linkNetnsId?: number;
  address?: string;
}
