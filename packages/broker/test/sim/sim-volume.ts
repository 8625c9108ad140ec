/**
 * The broker's StoreVolume on the simulator's hostile disks: each state
 * generation is one simulated LevelDB directory, CURRENT a record on a
 * small disk of its own written with fsync (atomic, like the rename dance
 * on a real disk). A crash of the machine applies the disks' crash rules
 * to all of them.
 */
import type { AppNodeContext } from "../../../raft/test/sim/app.ts";
import type { SimLevel } from "../../../raft/test/sim/sim-disk.ts";
import { CHECKED_VALUES } from "../../src/store/checksum.ts";
import type { BinaryDb, StoreVolume, SyncOption } from "../../src/store/volume.ts";

const META_DISK = "broker-meta";
const STATE_DISK = /^broker-state-(\d+)$/;
const CURRENT_KEY = Uint8Array.of(0x43);

/** One process incarnation's view of the broker volume of a simulated machine. */
export class SimVolume implements StoreVolume {
  readonly label: string;
  private meta: SimLevel | undefined;

  constructor(private readonly ctx: AppNodeContext) {
    this.label = `${ctx.id}/broker`;
  }

  private async metaDb(): Promise<SimLevel> {
    if (this.meta === undefined) {
      this.meta = this.ctx.disk(META_DISK).open(this.ctx.clock);
      await this.meta.open();
    }
    return this.meta;
  }

  async readCurrent(): Promise<number | undefined> {
    const v = await (await this.metaDb()).get(CURRENT_KEY);
    return v === undefined ? undefined : new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(0);
  }

  async writeCurrent(generation: number): Promise<void> {
    const value = new Uint8Array(4);
    new DataView(value.buffer).setUint32(0, generation);
    const sync: SyncOption = { sync: true };
    await (await this.metaDb()).batch([{ type: "put", key: CURRENT_KEY, value }], sync);
  }

  async generations(): Promise<number[]> {
    return this.ctx.diskNames().flatMap((name) => {
      const m = STATE_DISK.exec(name);
      return m === null ? [] : [Number(m[1])];
    });
  }

  async open(generation: number): Promise<BinaryDb> {
    const db = this.ctx.disk(`broker-state-${generation}`).open(this.ctx.clock, { valueEncoding: CHECKED_VALUES });
    await db.open();
    return db;
  }

  async remove(generation: number): Promise<void> {
    this.ctx.disk(`broker-state-${generation}`).wipe();
  }
}
