// The handle on one network namespace, as the package offers it: the tc side (lib/netlink) and,
// beside it, nf_tables (lib/nftables). It sits above both so that neither side imports the other.
import { RtnetlinkHandle, type OpenOptions } from './netlink/handle';
import { NftablesHandle } from './nftables/handle';

export class NetlinkHandle extends RtnetlinkHandle {
  private nft: NftablesHandle | undefined;

  /**
   * nf_tables in the same namespace: its own NETLINK_NETFILTER socket, opened on first use and
   * closed with this handle. (One handle for both, so that a change spanning tc and nftables can
   * be applied as one: tc first, with its rollback, then the nftables batch, which the kernel
   * commits whole or not at all.)
   */
  get nftables(): NftablesHandle {
    this.open();
    this.nft ??= new NftablesHandle({ netns: this.netns });
    return this.nft;
  }

  /** Closes both sockets. Work already queued finishes first. */
  override close(): void {
    super.close();
    this.nft?.close();
    this.nft = undefined;
  }
}

/** Opens a handle on a network namespace (default: this process's). */
export function openNetlink(options: OpenOptions = {}): NetlinkHandle {
  return new NetlinkHandle(options);
}
