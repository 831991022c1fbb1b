"""The kernel side of the baseline kernel server: one global IPython kernel (jupyter_client +
ipykernel), restarted when it dies (watchdog) or hangs (execute timeout -> interrupt -> restart).

Every restart builds a fresh manager: new process, new ports, new connection file, new HMAC key.
Executions take turns on `state.lock`; interrupt and status deliberately do not take it.
"""
import asyncio
import json
import logging
import os
import queue
import re
import signal
import sys
import time
import uuid
from typing import List, Optional

from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpecManager

log = logging.getLogger("kernel_server")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
KERNEL_NAME = "hedge-python3"
KERNEL_ARGV = [
    "/usr/bin/python3", "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{connection_file}",
]
KERNEL_ENV = {"PYDEVD_DISABLE_FILE_VALIDATION": "1"}


def result(success: bool, output: str, error: Optional[str] = None, images: Optional[List[str]] = None) -> dict:
    """The documented execute response: {success, output, error, images (base64 PNGs)}."""
    return {"success": success, "output": output, "error": error, "images": images or []}


class KernelState:
    """The one global kernel: a manager, a client, and the lock executions take turns on."""

    def __init__(self) -> None:
        self.km: Optional[AsyncKernelManager] = None
        self.kc = None
        self.lock = asyncio.Lock()
        self.executing = False
        self.current_msg_id: Optional[str] = None
        self.restarts = 0
        self.last_restart_reason: Optional[str] = None
        self.started_at: Optional[float] = None
        self.shutting_down = False
        self.workspace = os.getcwd()
        self.runtime_dir = os.getcwd()
        self.spec_manager: Optional[KernelSpecManager] = None
        self.watchdog: Optional[asyncio.Task] = None

    def pid(self) -> Optional[int]:
        prov = self.km.provisioner if self.km is not None else None
        proc = getattr(prov, "process", None)
        return proc.pid if proc is not None else None

    def pgid(self) -> Optional[int]:
        prov = self.km.provisioner if self.km is not None else None
        return getattr(prov, "pgid", None)

    def connection_file(self) -> Optional[str]:
        return self.km.connection_file if self.km is not None else None

    async def alive(self) -> bool:
        return self.km is not None and await self.km.is_alive()

    def kill_now(self) -> None:
        """SIGKILL the kernel's process group (its code and whatever it spawned)."""
        pgid, pid = self.pgid(), self.pid()
        try:
            if pgid:
                os.killpg(pgid, signal.SIGKILL)
            elif pid:
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass

    def alive_now(self) -> bool:
        proc = getattr(self.km.provisioner, "process", None) if self.km is not None else None
        return proc is not None and proc.poll() is None


state = KernelState()


def write_kernel_spec(runtime_dir: str) -> KernelSpecManager:
    spec_dir = os.path.join(runtime_dir, "hedge-kernelspecs", KERNEL_NAME)
    os.makedirs(spec_dir, exist_ok=True)
    with open(os.path.join(spec_dir, "kernel.json"), "w") as f:
        json.dump({"argv": KERNEL_ARGV, "display_name": "Python 3", "language": "python",
                   "interrupt_mode": "signal", "env": KERNEL_ENV}, f)
    return KernelSpecManager(kernel_dirs=[os.path.dirname(spec_dir)], ensure_native_kernel=False)


async def start_kernel() -> None:
    kernel_id = str(uuid.uuid4())
    km = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=state.spec_manager, kernel_id=kernel_id,
                            connection_file=os.path.join(state.runtime_dir, f"kernel-{kernel_id}.json"))
    km.shutdown_wait_time = 3.0
    env = dict(os.environ, **KERNEL_ENV)
    # the kernel's raw stdout goes to our stderr: our stdout carries only the LISTENING line
    await km.start_kernel(cwd=state.workspace, env=env, stdout=sys.stderr)
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=60)
    except Exception:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)
        raise
    state.km, state.kc, state.started_at = km, kc, time.time()
    log.info("kernel started: pid=%s connection_file=%s", state.pid(), km.connection_file)


async def stop_kernel(now: bool = False) -> None:
    km, kc = state.km, state.kc
    state.km, state.kc = None, None
    if kc is not None:
        kc.stop_channels()
    if km is not None:
        try:
            await km.shutdown_kernel(now=now or not await km.is_alive())
        except Exception as exc:  # a kernel that will not die politely is killed
            log.warning("kernel shutdown failed (%s); killing it", exc)
            try:
                await km.shutdown_kernel(now=True)
            except Exception:
                pass


async def restart_kernel(reason: str) -> None:
    """Caller holds state.lock. A fresh manager: new connection file, new ports, new key."""
    log.info("restarting kernel: %s", reason)
    await stop_kernel(now=True)
    state.restarts += 1
    state.last_restart_reason = reason
    if not state.shutting_down:
        await start_kernel()


async def watchdog() -> None:
    """Restart the kernel when it dies while nobody is executing (executions handle it themselves)."""
    while not state.shutting_down:
        await asyncio.sleep(1.0)
        if state.shutting_down or state.lock.locked():
            continue
        try:
            if not await state.alive():
                async with state.lock:
                    if not state.shutting_down and not await state.alive():
                        await restart_kernel("watchdog: kernel is not alive")
        except Exception:
            log.exception("watchdog could not restart the kernel; retrying")


def _png(data: dict, images: List[str]) -> None:
    if "image/png" in data:
        images.append(str(data["image/png"]).replace("\n", ""))


async def run_code(code: str, timeout: float) -> dict:
    """Caller holds state.lock."""
    kc, loop = state.kc, asyncio.get_running_loop()
    msg_id = kc.execute(code, allow_stdin=False)
    state.executing, state.current_msg_id = True, msg_id
    out: List[str] = []
    images: List[str] = []
    error: Optional[str] = None
    deadline = loop.time() + max(0.1, timeout)
    interrupted_at: Optional[float] = None
    try:
        while True:
            now = loop.time()
            if interrupted_at is None and now >= deadline:
                log.warning("execution timed out after %ss: interrupting", timeout)
                await state.km.interrupt_kernel()
                interrupted_at = now
            if interrupted_at is not None and now - interrupted_at > 5.0:
                await restart_kernel("execution hung after interrupt")
                return result(success=False, output="".join(out), images=images,
                                       error=f"Execution timed out after {timeout} seconds; the kernel did not respond to an interrupt and was restarted")
            try:
                msg = await kc.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                if not await state.km.is_alive():
                    if state.shutting_down:
                        return result(success=False, output="".join(out), images=images, error="Kernel stopped: server shutting down")
                    await restart_kernel("kernel died during execution")
                    return result(success=False, output="".join(out), images=images,
                                           error="Kernel died during execution; it has been restarted")
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content.get("text", ""))
            elif kind == "execute_result":
                _png(content.get("data", {}), images)
                text = content.get("data", {}).get("text/plain")
                if text is not None:
                    out.append(text if text.endswith("\n") else text + "\n")
            elif kind == "display_data":
                _png(content.get("data", {}), images)
            elif kind == "clear_output":
                out.clear()
            elif kind == "error":
                tb = ANSI.sub("", "\n".join(content.get("traceback", [])))
                error = tb or f"{content.get('ename')}: {content.get('evalue')}"
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        # consume the shell reply so that it does not pile up in the socket
        try:
            while True:
                reply = await kc.get_shell_msg(timeout=2.0)
                if reply.get("parent_header", {}).get("msg_id") == msg_id:
                    break
        except queue.Empty:
            pass
        if interrupted_at is not None:
            error = f"Execution timed out after {timeout} seconds and was interrupted\n" + (error or "")
        return result(success=error is None, output="".join(out), error=error, images=images)
    finally:
        state.executing, state.current_msg_id = False, None


def status_body() -> dict:
    kc = state.kc
    return {
        "alive": state.alive_now(),
        "pid": state.pid(),
        "connection_file": state.connection_file(),
        "client_connected": bool(kc is not None and kc.channels_running),
        "executing": state.executing,
        "restarts": state.restarts,
    }
