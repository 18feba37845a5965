#!/usr/bin/env python3
# streamtool.py: look inside snapseal streams and resume tokens for tests
# (docs/stream-format.md).
#   streamtool.py records STREAM       one line per record: offset type length
#   streamtool.py end-of STREAM N      offset just after record N (0 = BEGIN)
#   streamtool.py token-flags TOKEN AND [OR]  the token with its flags ANDed
#                                      with AND (then ORed with OR), its
#                                      checksum recomputed (needs xxhash)
#   streamtool.py token-name TOKEN DS  the token naming dataset DS instead
import ctypes, ctypes.util, struct, sys

def records(data):
    off = 0
    while off + 8 <= len(data):
        typ, flags, res, n = struct.unpack_from("<BBHI", data, off)
        yield off, typ, n
        off += 8 + n + 16

def sum8(b):
    lib = ctypes.CDLL(ctypes.util.find_library("xxhash"))
    class H(ctypes.Structure):
        _fields_ = [("lo", ctypes.c_uint64), ("hi", ctypes.c_uint64)]
    lib.XXH3_128bits.restype = H
    lib.XXH3_128bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    h = lib.XXH3_128bits(bytes(b), len(b))
    return struct.pack(">Q", h.hi)

cmd = sys.argv[1]
if cmd == "records":
    data = open(sys.argv[2], "rb").read()
    for off, typ, n in records(data):
        print(off, typ, n)
elif cmd == "end-of":
    data = open(sys.argv[2], "rb").read()
    want = int(sys.argv[3])
    for i, (off, typ, n) in enumerate(records(data)):
        if i == want:
            print(off + 8 + n + 16)
            break
    else:
        sys.exit("no record %d" % want)
elif cmd == "token-flags":
    v, body, _ = sys.argv[2].split("-")
    rec = bytearray.fromhex(body)
    flags, = struct.unpack_from("<Q", rec, 1)
    flags &= int(sys.argv[3], 0)
    if len(sys.argv) > 4:
        flags |= int(sys.argv[4], 0)
    struct.pack_into("<Q", rec, 1, flags)
    print("%s-%s-%s" % (v, rec.hex(), sum8(rec).hex()))
elif cmd == "token-name":
    v, body, _ = sys.argv[2].split("-")
    rec = bytes.fromhex(body)
    n, = struct.unpack_from("<H", rec, 41)
    new = sys.argv[3].encode()
    rec = rec[:41] + struct.pack("<H", len(new)) + new + rec[43 + n:]
    print("%s-%s-%s" % (v, rec.hex(), sum8(rec).hex()))
else:
    sys.exit("unknown command " + cmd)
