"""Lab 36 - The bandwidth hierarchy: the slowest link a collective crosses sets its time.

Prices a 1 GB all-reduce on 2 DGX H100 nodes (16 GPUs, NVLink at 450 GB/s per direction inside a
node, one 400 Gb/s NIC per GPU at 50 GB/s between nodes) three ways: one ring through all 16 GPUs,
eight rings that each cross between nodes on their own pair of NICs, and a hierarchical
all-reduce (reduce-scatter inside the node, all-reduce across nodes, all-gather inside). The
hierarchical one is also run on real arrays and checked against a plain sum.
"""
# lab:goal See why an all-reduce that leaves the node runs at NIC speed, and how using every NIC, or keeping most bytes on NVLink, wins it back.
#
# lab:mental-model
# - A DGX H100 node joins its 8 GPUs by NVLink, 450 GB/s each way per GPU; each GPU also has its own 400 Gb/s NIC, 50 GB/s each way, to the other nodes: 9 times slower.
# - In a ring every edge carries the same $2(N-1)/N \cdot S$ bytes at the same time, so the slowest edge, a NIC, sets the time of the whole ring.
# - Eight rings, each sending $S/8$ and crossing between nodes through a different GPU's NIC, use all 8 NICs of a node at once.
# - A hierarchical all-reduce sends $7/8$ of the bytes over NVLink and only $S/8$ per GPU across nodes, with far fewer latency steps.
#
# lab:checkpoints
# - Before you run it: one ring through all 16 GPUs all-reduces 1 GB. Which link sets its time, and how long does it take?
#   answer: A NIC: every edge carries $2 \cdot 15/16$ GB = 1.875 GB, and the two edges between nodes run at 50 GB/s, so 37.5 ms, however fast NVLink is.
#   see: output "one ring through 16 GPUs"
#   predict: number 2, within 5%
# - What does the hierarchical all-reduce send across nodes per node, against the single ring, at 2 nodes and at 16?
#   answer: 1.0 GB against 1.875 GB at 2 nodes; at 16 nodes 1.875 against 1.98 GB. The byte savings shrink, but the latency steps do not: 16 against 30, then 44 against 254.
#   see: output "inter-node GB per node"
# - Why does a pipelined hierarchical all-reduce take 2.50 ms when its three phases add up to 6.39?
#   answer: Cut into chunks, the NVLink phases of one chunk run while another chunk crosses the NICs, so the step takes about its slowest phase, the 2.50 ms inter-node all-reduce.
#   see: lines 63-66
# lab:traps
# - NVLink is 18 times faster than the network: 900 GB/s against 50.
#   why: 900 GB/s counts both directions of 18 links of 50 GB/s each; each way NVLink carries 450, and a NIC's 50 GB/s is one way, so the ratio is 9.
# - A ring's time follows the average speed of its links.
#   why: All edges carry the same bytes at once and every step waits for the slowest, so one 50 GB/s edge sets 37.5 ms even when 14 of the 16 edges are NVLink (line 55 takes the maximum, not the mean).
#
# lab:interview
# A collective is as fast as the slowest link it crosses: a ring all-reduce sends $2(N-1)/N \cdot S$ over every edge at once, so the time is $2(N-1)/N \cdot S / \min_e B_e$.
# On two DGX H100 nodes a single ring through 16 GPUs crosses a 50 GB/s NIC and takes 37.5 ms for 1 GB, although NVLink inside each node runs at 450 GB/s each way.
# Eight rings, each crossing on its own pair of NICs, use all eight NICs and take 4.69 ms, a bus bandwidth of 400 GB/s per node; NCCL builds such rail-aligned channels itself.
# A hierarchical all-reduce reduce-scatters inside the node over NVLink (1.94 ms), all-reduces $S/8$ per GPU across nodes (2.50 ms) and all-gathers inside again, 6.39 ms in sequence or about 2.50 ms pipelined, with 16 latency steps instead of 30, and 44 instead of 254 at 16 nodes.
#
# lab:intuition
# - A convoy drives at the speed of its slowest truck: add lanes (more NICs) or keep most trucks off the slow road (reduce inside the node first).
# - Per GPU, count bytes per link type: NVLink bytes divide by 450, NIC bytes by 50, and the larger quotient wins.

import numpy as np

GPUS_PER_NODE = 8
NVLINK = 450e9  # bytes/s each way per H100 (NVLink4: 18 links x 25 GB/s each way)
NIC = 50e9  # bytes/s each way: one 400 Gb/s ConnectX-7 per GPU
S = 1e9  # bytes to all-reduce


# lab:begin times
def ring_seconds(n_gpus, size, edge_bandwidths):
    per_edge = 2 * (n_gpus - 1) / n_gpus * size  # (1)
    return max(per_edge / bw for bw in edge_bandwidths)  # (2)


def rail_rings_seconds(nodes, size):
    n = nodes * GPUS_PER_NODE
    return ring_seconds(n, size / GPUS_PER_NODE, [NVLINK] * (n - nodes) + [NIC] * nodes)  # (3)


def hierarchical_seconds(nodes, size):
    inside = (GPUS_PER_NODE - 1) / GPUS_PER_NODE * size / NVLINK  # (4)
    across = 2 * (nodes - 1) / nodes * size / GPUS_PER_NODE / NIC  # (5)
    return 2 * inside + across, max(inside, across)  # (6)
# lab:end times
# lab:notes times
# (1) Every edge of a ring carries $2(N-1)/N$ of the buffer, at the same time as every other edge.
# (2) The ring moves at its slowest edge: the maximum of bytes over bandwidth, not an average.
# (3) Each of the 8 rings carries $S/8$ and crosses between nodes through its own GPUs' NICs.
# (4) Reduce-scatter (and later all-gather) inside the node: $7/8 \cdot S$ over NVLink per GPU.
# (5) Each GPU all-reduces its $S/8$ shard with the GPUs of the same index in the other nodes.
# (6) In sequence, the three phases add; pipelined over chunks, the slowest phase sets the time.
#
# lab:explain 53-66 Three ways to cross two nodes
# The bandwidth term of each algorithm, from bytes per edge and the speed of the edge; latency
# (a few microseconds per step) is left out here and counted separately as steps.

# lab:begin hierarchical
def hierarchical_all_reduce(data):
    nodes = len(data) // GPUS_PER_NODE
    shards = [np.split(d, GPUS_PER_NODE) for d in data]
    owned = {}
    for node in range(nodes):  # reduce-scatter inside the node: GPU g owns shard g of its node's sum
        ranks = range(node * GPUS_PER_NODE, (node + 1) * GPUS_PER_NODE)
        for g in range(GPUS_PER_NODE):
            owned[(node, g)] = sum(shards[r][g] for r in ranks)  # (1)
    for g in range(GPUS_PER_NODE):  # all-reduce across nodes, one rail per shard index
        total = sum(owned[(node, g)] for node in range(nodes))  # (2)
        for node in range(nodes):
            owned[(node, g)] = total
    return [np.concatenate([owned[(r // GPUS_PER_NODE, g)] for g in range(GPUS_PER_NODE)])
            for r in range(len(data))]  # (3)
# lab:end hierarchical
# lab:notes hierarchical
# (1) Over NVLink: each GPU ends up holding one eighth of its node's sum.
# (2) Over the NICs: the GPUs with the same shard index, one per node, add their shards; this is the only step that leaves the node.
# (3) Over NVLink again: each GPU gathers the 8 finished shards of its node (an all-gather).
#
# lab:explain 81-94 The hierarchical algorithm on real arrays
# Three phases, each a collective the earlier chapter built: reduce-scatter, all-reduce and
# all-gather. Only the middle one leaves the node, and it moves one eighth of the buffer per GPU.


def figures():
    """One table per figure: equal-length lists of numbers or text, keyed by column."""
    rows = []
    for nodes in (2, 4, 8, 16):
        n = nodes * GPUS_PER_NODE
        serial, pipelined = hierarchical_seconds(nodes, S)
        for name, seconds in (("one ring", ring_seconds(n, S, [NVLINK] * (n - 2) + [NIC] * 2)),
                              ("8 rail rings", rail_rings_seconds(nodes, S)),
                              ("hierarchical, in sequence", serial), ("hierarchical, pipelined", pipelined)):
            rows.append((nodes, name, seconds * 1e3))
    return {"algorithms": dict(zip(("nodes", "algorithm", "ms"), map(list, zip(*rows))))}


# lab:figure algorithms
# kind: bar
# title: A single ring runs at NIC speed; all eight NICs, or reducing inside the node first, win most of it back
# caption: Time of a 1 GB all-reduce across DGX H100 nodes, bandwidth terms only: 450 GB/s NVLink and one 50 GB/s NIC
#   per GPU. On 2 nodes one ring takes 37.5 ms, eight rail-aligned rings 4.69 ms, the hierarchical algorithm 2.50 ms pipelined.
# x: algorithm "algorithm"
# y: ms "time (ms)" .2f
# control: nodes "nodes" d
# default: 2
# says: On {{nodes}} nodes one ring takes {{ms|algorithm=one ring}} ms, 8 rail rings {{ms|algorithm=8 rail rings}} ms and the pipelined hierarchical algorithm {{ms|algorithm="hierarchical, pipelined"}} ms.

def main():
    rng = np.random.default_rng(0)
    data = [rng.standard_normal(64) for _ in range(2 * GPUS_PER_NODE)]
    result = hierarchical_all_reduce(data)
    assert all(np.allclose(r, np.sum(data, axis=0), rtol=0, atol=1e-12) for r in result)
    print("hierarchical all-reduce of 16 ranks equals np.sum on every rank: True")

    one_ring = ring_seconds(16, S, [NVLINK] * 14 + [NIC] * 2)
    average = 2 * 15 / 16 * S / np.mean([NVLINK] * 14 + [NIC] * 2)
    rails = rail_rings_seconds(2, S)
    serial, pipelined = hierarchical_seconds(2, S)
    print(f"NVLink {NVLINK / 1e9:.0f} GB/s vs NIC {NIC / 1e9:.0f} GB/s each way: {NVLINK / NIC:.1f}x")
    print(f"1 GB all-reduce on 2 nodes of 8 GPUs (bandwidth terms only):")
    print(f"  one ring through 16 GPUs: {one_ring * 1e3:5.2f} ms (an average link speed would say {average * 1e3:.2f})")
    print(f"  8 rail-aligned rings:     {rails * 1e3:5.2f} ms, busbw {S / rails * 2 * 15 / 16 / 1e9:.0f} GB/s")
    print(f"  hierarchical:             {serial * 1e3:5.2f} ms in sequence "
          f"({(GPUS_PER_NODE - 1) / GPUS_PER_NODE * S / NVLINK * 1e3:.2f} + {2 * S / 2 / GPUS_PER_NODE / NIC * 1e3:.2f} "
          f"+ {(GPUS_PER_NODE - 1) / GPUS_PER_NODE * S / NVLINK * 1e3:.2f}), {pipelined * 1e3:.2f} ms pipelined")
    assert abs(one_ring - 0.0375) < 1e-12 and average < one_ring / 5
    print(" nodes   inter-node GB per node (ring / hierarchical)   latency steps (ring / hierarchical)")
    for nodes in (2, 16):
        n = nodes * GPUS_PER_NODE
        ring_bytes = 2 * (n - 1) / n * S
        hier_bytes = 2 * (nodes - 1) / nodes * S / GPUS_PER_NODE * GPUS_PER_NODE
        steps = (2 * (n - 1), 2 * (GPUS_PER_NODE - 1) + 2 * (nodes - 1))
        print(f"  {nodes:4d}   {ring_bytes / 1e9:5.3f} / {hier_bytes / 1e9:5.3f}                              "
              f"{steps[0]:3d} / {steps[1]:3d}")
    assert hierarchical_seconds(2, S) == (serial, pipelined) and abs(pipelined - 0.0025) < 1e-12


if __name__ == "__main__":
    main()
