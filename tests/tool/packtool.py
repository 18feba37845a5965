#!/usr/bin/env python3
# packtool.py CMD PACK [ARGS]: read and edit pack records for the tamper tests
# (docs/format.md section 4): records, biggest, payload OFF, refs, resum OFF...
import ctypes, ctypes.util, struct, sys

def records(data):
    off = 16
    while off + 36 <= len(data):
        n, = struct.unpack_from("<I", data, off)
        if n == 0:
            break
        o = off + 36
        ver, flags, comp, res, rawlen, clen, nrefs = \
            struct.unpack_from("<BBBBIII", data, o)
        refs = [bytes(data[o + 16 + 32 * i:o + 48 + 32 * i])
                for i in range(nrefs)]
        yield dict(off=off, len=n, id=bytes(data[off + 4:off + 36]),
                   flags=flags, clen=clen, nrefs=nrefs, refs=refs)
        off = o + n

def rec(data, off):
    for r in records(data):
        if r["off"] == off:
            return r
    sys.exit("no record at %d" % off)

cmd, path = sys.argv[1], sys.argv[2]
data = bytearray(open(path, "rb").read())
if cmd == "records":
    for r in records(data):
        print(r["off"], r["len"], r["id"].hex(), r["nrefs"], r["clen"],
              r["flags"])
elif cmd == "biggest":
    print(max(records(data), key=lambda r: r["len"])["off"])
elif cmd == "payload":
    r = rec(data, int(sys.argv[3]))
    nonce = 12 if r["flags"] & 1 else 0
    print(r["off"] + 36 + 16 + 32 * r["nrefs"] + nonce + r["clen"] // 2)
elif cmd == "refs":
    r = rec(data, int(sys.argv[3]))
    if r["nrefs"] == 0:
        sys.exit("record at %d has no references" % r["off"])
    print(r["off"] + 36 + 16)
elif cmd == "id":
    print(rec(data, int(sys.argv[3]))["id"].hex())
elif cmd == "referrer":
    want = bytes.fromhex(sys.argv[3])
    for r in records(data):
        if want in r["refs"]:
            print(r["off"])
            break
    else:
        sys.exit("no record refers to " + sys.argv[3])
elif cmd == "resum":
    class H(ctypes.Structure):
        _fields_ = [("lo", ctypes.c_uint64), ("hi", ctypes.c_uint64)]
    lib = ctypes.CDLL(ctypes.util.find_library("xxhash"))
    lib.XXH3_128bits.restype = H
    lib.XXH3_128bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    r = rec(data, int(sys.argv[3]))
    st = r["off"] + 36
    body = r["id"] + bytes(data[st:st + r["len"] - 16])
    h = lib.XXH3_128bits(body, len(body))
    data[st + r["len"] - 16:st + r["len"]] = struct.pack(">QQ", h.hi, h.lo)
    open(path, "r+b").write(data)
else:
    sys.exit("unknown command " + cmd)
