/** nft's `ct count [over] N`: conntrack connections this rule has counted (needs conntrack). */
export interface ConnlimitExpr {
  kind: 'connlimit';
  count: number;
  over?: boolean;
}
