import { describe, it, expect } from '@jest/globals';
import { cgroupFolder, parseCgroup2Mounts, parseUnifiedCgroup } from './cgroup-v2.js';

const hybrid = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw`;
const unified = '29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate';
const bindMounted = '50 40 0:26 /kubepods/pod1 /sys/fs/cgroup ro,relatime master:3 - cgroup2 cgroup2 rw\n51 40 0:40 / /mnt/odd\\040dir rw - cgroup2 cgroup2 rw';

describe('parseCgroup2Mounts and cgroupFolder', () => {
  it.each([
    ['a hybrid layout (v1 controllers, v2 at unified/)', hybrid, '/', '/sys/fs/cgroup/unified'],
    ['a pure v2 layout under systemd', unified, '/system.slice/remediator.service', '/sys/fs/cgroup/system.slice/remediator.service'],
    ['a mount of a sub-tree (container)', bindMounted, '/kubepods/pod1/app', '/sys/fs/cgroup/app'],
    ['a mount point with an escaped space, when only it shows the path', bindMounted.split('\n')[1] ?? '', '/a', '/mnt/odd dir/a'],
  ])('finds the own folder in %s', (_name, mountinfo, own, folder) => {
    expect(cgroupFolder(parseCgroup2Mounts(mountinfo), own)).toBe(folder);
  });

  it('answers null when no cgroup2 mount shows the path', () => {
    expect(cgroupFolder(parseCgroup2Mounts(bindMounted.split('\n')[0] ?? ''), '/other')).toBeNull();
    expect(parseCgroup2Mounts('35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory')).toEqual([]);
  });
});

describe('parseUnifiedCgroup', () => {
  it('reads the 0:: line among v1 lines and answers null without one', () => {
    expect(parseUnifiedCgroup('4:memory:/x\n0::/system.slice/a.service\n')).toBe('/system.slice/a.service');
    expect(parseUnifiedCgroup('4:memory:/x\n')).toBeNull();
  });
});
