"""Lab 44 - Checkpoint I/O: how long a save takes, what asynchronous saving hides, and how a
checkpoint loads into a new layout.

Sizes the full training state of a 70B model (bf16 weights, fp32 master weights and two Adam
moments), prices a sharded save from 512 GPUs against per-node and file-system bandwidth (both
assumed), feeds the save time into Young's checkpoint interval, and reshards a tensor saved as
row shards into column shards, as a load into another parallel layout does.
"""
# lab:goal Estimate what a checkpoint costs a training run, and why sharded, asynchronous saves and resharding loads are the standard.
#
# lab:mental-model
# - A checkpoint holds the whole training state, not just the bf16 weights: with Adam, 14 bytes a parameter (2 for bf16 weights, 4 each for fp32 master weights and the two moments).
# - Written in shards by every rank at once, a save runs at the aggregate bandwidth of the writers, up to what the file system can take: time = bytes / min(sum of writers, cap).
# - An asynchronous save blocks training only while the state is copied to host memory; the write to storage runs in the background.
# - A checkpoint stores each shard with its global offsets, so it can be loaded into a different sharding by reading, from every saved shard, the slice each new shard needs.
#
# lab:checkpoints
# - Before you run it: how many gigabytes does a 70B model's training state take, and how much is that per GPU on 512 GPUs?
#   answer: 70B x 14 bytes = 980 GB, 1.91 GB per GPU: seven times the 140 GB of bf16 weights alone.
#   see: output "training state"
#   predict: number 3, within 5%
# - Why does a save from 64 nodes at 2 GB/s each take 9.8 s, not 7.7?
#   answer: 64 nodes could write 128 GB/s, but the file system takes at most 100 GB/s, and 980 GB / 100 GB/s is 9.8 s. A single writer would take 490 s.
#   see: output "sharded save"
# - By Young's rule, how much does saving asynchronously cut the checkpoint overhead at a 3.1-hour MTBF?
#   answer: From 4.2% with a 7.8-minute interval (9.8 s blocking) to 0.37% with a 41 s interval (0.077 s blocking): the shorter the blocking, the more often it pays to save.
#   see: output "asynchronous"
# lab:traps
# - A checkpoint takes the bf16 model size over one disk's bandwidth.
#   why: It is the whole training state, 980 GB rather than 140 GB, and it is written by every node at once, up to the file system's cap: 9.8 s, not 140 GB at 2 GB/s.
# - A checkpoint must be loaded with the same parallel layout it was saved with.
#   why: The saved shards carry their global offsets (lines 80-81 take each overlap and place it by its offset), so a load into column shards reads from each row shard just the slice it needs, 1.0 times the bytes.
#
# lab:interview
# A checkpoint of a model with $\Psi$ parameters trained with mixed-precision Adam is about $14\Psi$ bytes, 980 GB for 70B, and a sharded save takes $14\Psi / \min(\sum_i B_i, B_{fs})$: 9.8 s from 64 nodes against a 100 GB/s file system, 490 s from a single writer.
# Saving asynchronously stalls training only for the copy to host memory, 0.077 s per GPU at an assumed 25 GB/s, and Young's interval $\sqrt{2\delta M}$ then falls from 7.8 minutes to 41 s at a 3.1-hour MTBF, with overhead dropping from 4.2% to 0.37%.
# PyTorch's distributed checkpoint writes a file per rank plus metadata with every shard's global offsets, so a load can reshard into a new layout by sliced reads.
# Meta reports hundreds of interruptions over a 54-day Llama 3 run, which is why checkpoint cost is an operations question, not a footnote.
#
# lab:intuition
# - A save is a parking lot emptying: many exits (nodes) help until the road outside (the file system) is full.
# - Asynchronous saving moves the slow part off the critical path; what remains is a memory copy, and Young's rule rewards a cheap checkpoint with more of them.

import numpy as np

BYTES_PER_PARAM = 2 + 4 + 4 + 4  # bf16 weights, fp32 master weights, Adam m and v
PARAMS, GPUS, GPUS_PER_NODE = 70e9, 512, 8
NODE_BW, FS_CAP = 2e9, 100e9  # bytes/s per node and for the whole file system (assumed)
HOST_COPY = 25e9  # bytes/s device to host per GPU (assumed)
MTBF = 3.1 * 3600  # seconds between failures of the whole job


# lab:begin save
def save_seconds(state_bytes, writers, per_writer=NODE_BW, cap=FS_CAP):
    return state_bytes / min(writers * per_writer, cap)  # (1)


def young(delta, mtbf=MTBF):
    tau = np.sqrt(2 * delta * mtbf)  # (2)
    return tau, delta / tau + tau / (2 * mtbf)  # (3)
# lab:end save
# lab:notes save
# (1) The save runs at the writers' combined bandwidth or the file system's cap, whichever is lower.
# (2) Young's interval: frequent enough that lost work stays small, rare enough that saving does not dominate.
# (3) Overhead: time blocked per interval, plus the half interval of work lost on average at a failure.
#
# lab:explain 54-60 Save time and checkpoint interval
# The save time feeds Young's rule as $\delta$, the time training stops per checkpoint; an
# asynchronous save shrinks $\delta$ to the copy into host memory.

# lab:begin reshard
def reshard(saved, saved_rows, new_cols, read_whole_chunks=False):
    """Load row shards (each with its first row) into column shards [c0, c1); returns the new
    shards and the bytes read."""
    height = sum(chunk.shape[0] for chunk in saved)
    shards, read = [], 0
    for c0, c1 in new_cols:
        out = np.empty((height, c1 - c0), saved[0].dtype)
        for chunk, r0 in zip(saved, saved_rows):
            piece = chunk[:, c0:c1]  # (1)
            out[r0:r0 + chunk.shape[0]] = piece  # (2)
            read += chunk.nbytes if read_whole_chunks else piece.nbytes  # (3)
        shards.append(out)
    return shards, read
# lab:end reshard
# lab:notes reshard
# (1) The slice of this saved shard that the new shard needs: its columns, every row the shard holds.
# (2) Placed by the global row offset the checkpoint stored with the shard.
# (3) A sliced read pays for the bytes it uses; reading whole saved chunks pays for all of them, every time.
#
# lab:explain 72-84 Loading into a new layout
# Each new shard asks every saved shard for its overlap; with row shards saved and column shards
# loaded, every saved shard overlaps every new one, 64 reads for 8 by 8.


def figures():
    """One table per figure: equal-length lists of numbers or text, keyed by column."""
    state = PARAMS * BYTES_PER_PARAM
    rows = [(nodes, "sharded save", save_seconds(state, nodes)) for nodes in (1, 2, 4, 8, 16, 32, 64, 128)]
    rows += [(nodes, "copy to host (asynchronous)", state / (nodes * GPUS_PER_NODE) / HOST_COPY)
             for nodes in (1, 2, 4, 8, 16, 32, 64, 128)]
    return {"save": dict(zip(("nodes", "mode", "seconds"), map(list, zip(*rows))))}


# lab:figure save
# kind: line
# title: More nodes speed a save until the file system is full; an asynchronous save blocks only for the copy
# caption: Time training stops to save a 70B model's 980 GB state: a synchronous save at 2 GB/s per node up to a
#   100 GB/s file system, against the device-to-host copy of an asynchronous save. 64 nodes: 9.8 s against 0.077 s.
# x: nodes "nodes writing" d
# y: seconds "seconds training stops" .3g
# color: mode "save"
# x-scale: log
# y-scale: log


def main():
    state = PARAMS * BYTES_PER_PARAM
    print(f"training state of 70B parameters at {BYTES_PER_PARAM} bytes each: {state / 1e9:.0f} GB, "
          f"{state / GPUS / 1e9:.2f} GB per GPU on {GPUS} (bf16 weights alone {PARAMS * 2 / 1e9:.0f} GB)")
    sync = save_seconds(state, GPUS // GPUS_PER_NODE)
    single = save_seconds(state, 1)
    copy = state / GPUS / HOST_COPY
    print(f"sharded save from {GPUS // GPUS_PER_NODE} nodes: {sync:.1f} s (the file system's cap); "
          f"one writer: {single:.0f} s ({single / 60:.1f} min)")
    for name, delta in (("synchronous", sync), ("asynchronous", copy)):
        tau, overhead = young(delta)
        print(f"{name}: blocks {delta:.3g} s, Young's interval {tau:.0f} s ({tau / 60:.1f} min), overhead {overhead:.2%}")
    assert np.isclose(sync, 9.8) and np.isclose(single, 490) and young(sync)[1] > 10 * young(copy)[1]
    assert np.isclose(young(sync)[1], np.sqrt(2 * sync / MTBF)), "at Young's interval the overhead is sqrt(2 delta / M)"

    rng = np.random.default_rng(0)
    tensor = rng.standard_normal((64, 48)).astype(np.float32)
    saved, starts = np.split(tensor, 8), list(range(0, 64, 8))  # row shards, as saved by 8 ranks
    columns = [(c, c + 6) for c in range(0, 48, 6)]  # 8 column shards, as the new layout loads them
    loaded, sliced = reshard(saved, starts, columns)
    _, whole = reshard(saved, starts, columns, read_whole_chunks=True)
    assert np.array_equal(np.concatenate(loaded, axis=1), tensor), "every element lands where it was"
    print(f"resharding 8 row shards into 8 column shards: {len(saved) * len(columns)} reads, "
          f"{sliced / tensor.nbytes:.1f}x the bytes with sliced reads, {whole / tensor.nbytes:.1f}x reading whole chunks")


if __name__ == "__main__":
    main()
