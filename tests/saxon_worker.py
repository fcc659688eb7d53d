"""Saxon (saxonche, a GraalVM native image) in a child process of its own.

The official EN 16931 schematron is XSLT 2.0, which only Saxon runs here. The native image
once ended the whole test process (exit 99) in the middle of a full run, though never when
its tests ran alone; in a child process such a crash fails those tests with a clear message
instead of taking the rest of the suite with it.
"""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.connection import Connection
from pathlib import Path


def _serve(conn: Connection, stylesheets: dict[str, str]) -> None:
    from saxonche import PySaxonProcessor

    with PySaxonProcessor(license=False) as proc:
        xslt = proc.new_xslt30_processor()
        compiled = {k: xslt.compile_stylesheet(stylesheet_file=p) for k, p in stylesheets.items()}
        conn.send("ready")
        while (request := conn.recv()) is not None:
            kind, xml = request
            node = proc.parse_xml(xml_text=xml)
            conn.send(compiled[kind].transform_to_string(xdm_node=node))


class SaxonWorker:
    """Runs compiled stylesheets in a child process: ``transform(kind, xml) -> str``."""

    def __init__(self, stylesheets: dict[str, Path], timeout: float = 120.0) -> None:
        self.timeout = timeout
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        paths = {k: str(p) for k, p in stylesheets.items()}
        self._proc = ctx.Process(target=_serve, args=(child, paths), daemon=True)
        self._proc.start()
        child.close()
        self._receive("compiling the stylesheets")

    def _receive(self, what: str) -> str:
        if not self._conn.poll(self.timeout):
            raise RuntimeError(f"Saxon gave no answer within {self.timeout:g} s ({what})")
        try:
            return str(self._conn.recv())
        except EOFError:
            raise RuntimeError(
                f"the Saxon process ended ({what}), exit code {self._proc.exitcode}"
            ) from None

    def transform(self, kind: str, xml: bytes) -> str:
        self._conn.send((kind, xml.decode("utf-8")))
        return self._receive(f"running the {kind} schematron")

    def close(self) -> None:
        if self._proc.is_alive():
            self._conn.send(None)
            self._proc.join(10)
        if self._proc.is_alive():
            self._proc.kill()
