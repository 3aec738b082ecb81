"""The filer's gRPC API: a stub compiled on the fly from proto/filer.proto, entry builders, and
file id parsing."""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from .env import GEN_DIR, MODE_DIR, MODE_SYMLINK, PROTO, HarnessError

_pb_lock = threading.Lock()
_pb_modules = None


def filer_pb():
    """(filer_pb2, filer_pb2_grpc) compiled from proto/filer.proto into integration/.gen/<hash>."""
    global _pb_modules
    with _pb_lock:
        if _pb_modules:
            return _pb_modules
        src = PROTO.read_bytes()
        tag = hashlib.sha256(src).hexdigest()[:16]
        out = GEN_DIR / tag
        if not (out / "filer_pb2_grpc.py").exists():
            GEN_DIR.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix="gen-", dir=GEN_DIR))
            from grpc_tools import protoc  # noqa: PLC0415
            import grpc_tools  # noqa: PLC0415
            inc = Path(grpc_tools.__file__).parent / "_proto"
            rc = protoc.main(["protoc", f"-I{PROTO.parent}", f"-I{inc}", f"--python_out={tmp}",
                              f"--grpc_python_out={tmp}", str(PROTO)])
            if rc != 0:
                raise HarnessError(f"protoc failed ({rc}) for {PROTO}")
            try:
                os.rename(tmp, out)  # atomic publish; a concurrent run may have won
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
        if str(out) not in sys.path:
            sys.path.insert(0, str(out))
        pb2 = importlib.import_module("filer_pb2")
        pb2_grpc = importlib.import_module("filer_pb2_grpc")
        _pb_modules = (pb2, pb2_grpc)
        return _pb_modules


def parse_fid(fid: str):
    """'3,01637037d6[_n]' -> (vid, key, cookie): the volume id in decimal, then the needle key in hex
    followed by the 8 hex digits of the cookie; '_n' adds n to the key (the further fids of one assign with count > 1)."""
    vid_s, rest = fid.split(",", 1)
    delta = 0
    if "_" in rest:
        rest, d = rest.split("_", 1)
        delta = int(d)
    if "." in rest:
        rest = rest.split(".", 1)[0]
    return int(vid_s), int(rest[:-8], 16) + delta, int(rest[-8:], 16)


def format_fid(vid: int, key: int, cookie: int) -> str:
    kb = key.to_bytes(8, "big").lstrip(b"\0")
    return f"{vid},{kb.hex()}{cookie:08x}"


class FilerGrpc:
    def __init__(self, addr: str):
        import grpc  # noqa: PLC0415
        self.pb, pb_grpc = filer_pb()
        self.addr = addr
        self.channel = grpc.insecure_channel(addr, options=[
            ("grpc.max_receive_message_length", 1 << 30),
            ("grpc.max_send_message_length", 1 << 30)])
        self.stub = pb_grpc.SeaweedFilerStub(self.channel)

    def close(self):
        self.channel.close()

    # -- raw-ish calls
    def lookup(self, directory: str, name: str):
        import grpc  # noqa: PLC0415
        try:
            r = self.stub.LookupDirectoryEntry(
                self.pb.LookupDirectoryEntryRequest(directory=directory, name=name), timeout=30)
        except grpc.RpcError as e:
            if "no entry is found" in (e.details() or ""):
                return None
            raise
        return r.entry if r.HasField("entry") else None

    def lookup_path(self, path: str):
        d, n = split_path(path)
        return self.lookup(d, n)

    def create_entry(self, directory: str, entry, o_excl: bool = False, skip_parent: bool = False):
        r = self.stub.CreateEntry(self.pb.CreateEntryRequest(
            directory=directory, entry=entry, o_excl=o_excl,
            skip_check_parent_directory=skip_parent), timeout=120)
        if r.error:
            raise HarnessError(f"CreateEntry {directory}/{entry.name}: {r.error}")
        return r

    def append_to_entry(self, directory: str, name: str, chunks) -> None:
        self.stub.AppendToEntry(self.pb.AppendToEntryRequest(
            directory=directory, entry_name=name, chunks=chunks), timeout=120)

    def assign(self, count: int = 1, collection: str = "", path: str = ""):
        r = self.stub.AssignVolume(self.pb.AssignVolumeRequest(
            count=count, collection=collection, path=path), timeout=30)
        if r.error:
            raise HarnessError(f"AssignVolume: {r.error}")
        return r

    def list(self, directory: str, page: int = 1000) -> list:
        out, start = [], ""
        while True:
            got = 0
            for r in self.stub.ListEntries(self.pb.ListEntriesRequest(
                    directory=directory, startFromFileName=start, limit=page), timeout=120):
                out.append(r.entry)
                start = r.entry.name
                got += 1
            if got < page:
                return out

    # -- entry builders
    def attrs(self, mode: int, size: int = 0, mtime: int | None = None, symlink_target: str = "",
              mime: str = ""):
        now = int(time.time()) if mtime is None else mtime
        return self.pb.FuseAttributes(file_size=size, mtime=now, crtime=now, file_mode=mode,
                                      uid=0, gid=0, symlink_target=symlink_target, mime=mime)

    def chunk(self, fid: str, offset: int, size: int, ts_ns: int, **kw):
        vid, key, cookie = parse_fid(fid)
        canonical = format_fid(vid, key, cookie)
        return self.pb.FileChunk(file_id=canonical, offset=offset, size=size, modified_ts_ns=ts_ns,
                                 fid=self.pb.FileId(volume_id=vid, file_key=key, cookie=cookie), **kw)

    def mkdir(self, path: str, mode: int = 0o755) -> None:
        d, n = split_path(path)
        self.create_entry(d, self.pb.Entry(name=n, is_directory=True,
                                           attributes=self.attrs(MODE_DIR | mode)))

    def mkdirs(self, path: str, mode: int = 0o755) -> None:
        cur = ""
        for part in [p for p in path.split("/") if p]:
            cur += "/" + part
            if self.lookup_path(cur) is None:
                self.mkdir(cur, mode)

    def symlink(self, path: str, target: str, mode: int = 0o777) -> None:
        d, n = split_path(path)
        self.create_entry(d, self.pb.Entry(
            name=n, attributes=self.attrs(MODE_SYMLINK | mode, symlink_target=target)))

    def create_file(self, path: str, chunks=(), size: int | None = None, mode: int = 0o660,
                    content: bytes = b"", extended: dict | None = None, mtime: int | None = None) -> None:
        d, n = split_path(path)
        if size is None:
            size = max([c.offset + c.size for c in chunks] + [len(content)])
        self.create_entry(d, self.pb.Entry(
            name=n, chunks=list(chunks), content=content, extended=extended or {},
            attributes=self.attrs(mode, size=size, mtime=mtime)))


def split_path(path: str) -> tuple[str, str]:
    path = "/" + path.strip("/")
    d, n = path.rsplit("/", 1)
    return (d or "/"), n

