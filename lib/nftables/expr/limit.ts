/**
 * A token bucket: `rate` per `unit` (default second) with `burst` (default 5 packets, as nft).
 * With `over`, it matches what exceeds the rate (`limit rate over 100/second ... drop`).
 */
export interface LimitExpr {
  kind: 'limit';
  rate: number;
  unit?: 'second' | 'minute' | 'hour' | 'day' | 'week';
  burst?: number;
  /** Default 'packets'; 'bytes' counts bytes per unit. */
  type?: 'packets' | 'bytes';
  over?: boolean;
}
