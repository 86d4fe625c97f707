/** Counts what reaches it; reads back with its packets and bytes. */
export interface CounterExpr {
  kind: 'counter';
  packets?: number;
  bytes?: number;
}
