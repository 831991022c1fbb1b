#!/usr/bin/python3
"""The baseline sandbox's kernel server, reproduced as documented -- weaknesses included.

FastAPI + uvicorn in front of one real IPython kernel (jupyter_client + ipykernel):
no authentication, CORS that approves any origin with credentials, and routes that
reset the kernel, interrupt it, and hand out its connection file (whose HMAC `key`
lets anyone who can reach the ZMQ ports run code). Do not "fix" this file: the
gateway is measured against exactly this behaviour.

Run with Debian's interpreter (/usr/bin/python3): the packages belong to it.
  kernel_server.py --workspace DIR [--host H --port P | --uds PATH]
Prints one line `LISTENING http://H:P` or `LISTENING unix:PATH` once it accepts connections.
"""
import argparse
import asyncio
import json
import os
import socket
import stat
import sys
from typing import List, Optional

import uvicorn
from fastapi import FastAPI, HTTPException
from fastapi.middleware.cors import CORSMiddleware
from pydantic import BaseModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kernel_runtime import (KERNEL_ARGV, restart_kernel, run_code, start_kernel, state,  # noqa: E402
                            status_body, stop_kernel, watchdog, write_kernel_spec)


class ExecuteRequest(BaseModel):
    code: str
    timeout: Optional[float] = 60.0
    restart: bool = False


class ExecuteResponse(BaseModel):
    success: bool
    output: str
    error: Optional[str] = None
    images: List[str] = []


app = FastAPI(title="Kernel Server", version="1.0.0")
app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True, allow_methods=["*"], allow_headers=["*"])


@app.on_event("startup")
async def on_startup() -> None:
    await start_kernel()
    state.watchdog = asyncio.create_task(watchdog())


@app.on_event("shutdown")
async def on_shutdown() -> None:
    state.shutting_down = True
    if state.watchdog is not None:
        state.watchdog.cancel()
    await stop_kernel(now=False)


@app.get("/")
async def root() -> dict:
    return {"service": "kernel-server", "version": app.version, "kernel": "python3 (ipykernel)",
            "workspace": state.workspace,
            "endpoints": ["/health", "/kernel/execute", "/kernel/reset", "/kernel/interrupt", "/kernel/status",
                          "/kernel/connection", "/kernel/connection-file", "/kernel/debug"]}


@app.get("/health")
async def health() -> dict:
    st = status_body()
    return {"status": "healthy" if st["alive"] else "degraded", "kernel": st}


@app.get("/kernel/status")
async def kernel_status() -> dict:
    return status_body()


@app.post("/kernel/execute", response_model=ExecuteResponse)
async def kernel_execute(req: ExecuteRequest) -> dict:
    if state.shutting_down:
        raise HTTPException(status_code=503, detail="Server is shutting down")
    async with state.lock:
        if state.shutting_down:
            raise HTTPException(status_code=503, detail="Server is shutting down")
        if req.restart:
            await restart_kernel("execute with restart=true")
        elif not await state.alive():
            await restart_kernel("kernel not alive before execute")
        return await run_code(req.code, req.timeout if req.timeout is not None else 60.0)


@app.post("/kernel/reset")
async def kernel_reset() -> dict:
    generation = state.restarts
    if state.executing:
        state.kill_now()  # the running execution notices, restarts the kernel and returns
    async with state.lock:
        if state.restarts == generation or not await state.alive():
            await restart_kernel("reset requested")
    return {"success": True, "message": "Kernel reset", "pid": state.pid(), "connection_file": state.connection_file()}


@app.post("/kernel/interrupt")
async def kernel_interrupt() -> dict:
    # deliberately not behind state.lock: it has to reach a kernel that is busy executing
    km = state.km
    if km is None or not await km.is_alive():
        raise HTTPException(status_code=503, detail="Kernel is not running")
    await km.interrupt_kernel()
    return {"success": True, "message": "Interrupt signal sent to kernel", "executing": state.executing}


@app.get("/kernel/connection")
async def kernel_connection() -> dict:
    cf = state.connection_file()
    if cf is None or not os.path.exists(cf):
        raise HTTPException(status_code=503, detail="Kernel is not running")
    with open(cf) as f:
        info = json.load(f)
    return {"connection_file": cf, "connection_info": info}


@app.get("/kernel/connection-file")
async def kernel_connection_file() -> dict:
    cf = state.connection_file()
    if cf is None:
        raise HTTPException(status_code=503, detail="Kernel is not running")
    return {"connection_file": cf, "exists": os.path.exists(cf)}


@app.get("/kernel/debug")
async def kernel_debug() -> dict:
    km = state.km
    return {
        **status_body(),
        "server_pid": os.getpid(), "uid": os.getuid(), "gid": os.getgid(), "cwd": os.getcwd(),
        "workspace": state.workspace, "python": sys.version, "kernel_argv": KERNEL_ARGV,
        "kernel_id": km.kernel_id if km is not None else None, "pgid": state.pgid(),
        "connection_info": json.loads(open(km.connection_file).read()) if km is not None and os.path.exists(km.connection_file) else None,
        "lock_held": state.lock.locked(), "current_msg_id": state.current_msg_id,
        "last_restart_reason": state.last_restart_reason, "started_at": state.started_at,
        "shutting_down": state.shutting_down,
        "env": {k: v for k, v in os.environ.items() if k.startswith(("JUPYTER", "PYDEVD", "HOME", "PATH"))},
    }


class Server(uvicorn.Server):
    def handle_exit(self, sig, frame) -> None:  # SIGTERM/SIGINT
        state.shutting_down = True
        if state.executing:
            state.kill_now()  # lets the in-flight execution return so graceful shutdown can finish
        super().handle_exit(sig, frame)

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.should_exit or not sockets:
            return
        addr = sockets[0].getsockname()
        if sockets[0].family == socket.AF_UNIX:
            line = f"LISTENING unix:{addr}"
        else:
            host = f"[{addr[0]}]" if ":" in addr[0] else addr[0]
            line = f"LISTENING http://{host}:{addr[1]}"
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def bind(args: argparse.Namespace) -> socket.socket:
    if args.uds:
        try:
            if stat.S_ISSOCK(os.lstat(args.uds).st_mode):
                os.unlink(args.uds)
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(args.uds)
        finally:
            os.umask(old)
        os.chmod(args.uds, 0o600)
    else:
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, args.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def main() -> int:
    p = argparse.ArgumentParser(description="baseline sandbox kernel server")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8888)
    p.add_argument("--uds", default=None, help="listen on this unix socket (mode 0600) instead of TCP")
    p.add_argument("--workspace", default="/mnt/okcomputer")
    p.add_argument("--log-level", default="info")
    args = p.parse_args()

    state.workspace = os.path.abspath(args.workspace)
    runtime_dir = os.environ.setdefault("JUPYTER_RUNTIME_DIR", os.path.join(os.path.expanduser("~"), ".local/share/jupyter/runtime"))
    os.makedirs(runtime_dir, mode=0o700, exist_ok=True)
    state.runtime_dir = runtime_dir
    state.spec_manager = write_kernel_spec(runtime_dir)

    log_config = json.loads(json.dumps(uvicorn.config.LOGGING_CONFIG))
    log_config["handlers"]["access"]["stream"] = "ext://sys.stderr"  # stdout is for LISTENING only
    log_config["loggers"]["kernel_server"] = {"handlers": ["default"], "level": args.log_level.upper()}
    sock = bind(args)
    config = uvicorn.Config(app, log_level=args.log_level, log_config=log_config, lifespan="on")
    server = Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        state.shutting_down = True
        if state.alive_now():
            state.kill_now()  # forced exit skipped the graceful kernel shutdown: leave no orphan
            try:
                os.unlink(state.km.connection_file)
            except OSError:
                pass
        if args.uds:
            try:
                os.unlink(args.uds)
            except OSError:
                pass
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
