#!/bin/bash
# shellcheck disable=SC2016,SC2317 # single-quoted bodies call the helpers
test_description='sstool, the helper every other test trusts

gen and randfile must be deterministic, and digest must notice every
difference a restore could get wrong; otherwise a broken restore would pass.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

T0=@1600000000.000000001

test_expect_success 'gen: the same seed gives the same tree' '
	sstool gen a 42 &&
	sstool gen b 42 &&
	sstool digest a >a.digest &&
	sstool digest b >b.digest &&
	test_cmp a.digest b.digest &&
	test "$(find a -type f | wc -l)" = 100 &&
	test_grep " type=d " a.digest &&
	test_grep ! "mtime=[0-9]*\.000000000" a.digest
'

test_expect_success 'gen: another seed gives another tree' '
	sstool gen c 43 &&
	sstool digest c >c.digest &&
	! test_cmp a.digest c.digest >/dev/null
'

test_expect_success 'gen: sizes up to 64 KiB, empty files, duplicates' '
	sstool gen big 7 400 &&
	test -z "$(find big -type f -size +65536c)" &&
	test -n "$(find big -type f -size 0)" &&
	test -n "$(find big -mindepth 4 -type d)" &&
	sstool digest big | sed -n "s/.* size=[1-9].* sha256=\([0-9a-f]*\).*/\1/p" |
		sort | uniq -d >dups &&
	test -s dups
'

test_expect_success 'gen: the generator itself is pinned' '
	# Tests and benches may record what gen makes: if you change gen (or
	# the digest format) on purpose, update this hash and say why.
	sstool gen pinned pinned 30 &&
	sstool digest pinned | sed "s/ uid=[0-9]* gid=[0-9]*//" |
		sha256sum >actual &&
	echo "844161e3007818d630e65ac85957385d189abfa59ee66462185d4bd4a25c8a5d  -" >expect &&
	test_cmp expect actual
'

test_expect_success 'gen: refuses a directory that is not empty' '
	mkdir full && touch full/x &&
	test_expect_code 2 sstool gen full 1
'

test_expect_success 'randfile: deterministic, exact size, three kinds' '
	sstool randfile r1 3M 5 &&
	sstool randfile r2 3M 5 &&
	sstool randfile r3 3M 6 &&
	cmp r1 r2 && ! cmp -s r1 r3 &&
	test "$(wc -c <r1)" = 3145728 &&
	sstool randfile t 100001 5 text &&
	test "$(wc -c <t)" = 100001 &&
	test "$(tr -d "\n\t -~" <t | wc -c)" = 0 &&
	sstool randfile z 70000 5 zero &&
	head -c 70000 /dev/zero | cmp - z
'

test_expect_success 'digest: the format of one line' '
	mkdir fmt && printf hello >fmt/f && chmod 640 fmt/f &&
	touch -d @1600000000.5 fmt/f fmt &&
	u=$(id -u) g=$(id -g) &&
	cat >expect <<-EOF &&
	. type=d mode=0755 uid=$u gid=$g mtime=1600000000.500000000
	f type=f mode=0640 uid=$u gid=$g size=5 mtime=1600000000.500000000 sha256=2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
	EOF
	sstool digest fmt >actual &&
	test_cmp expect actual
'

# differs_after 'change': digest d, apply the change, digest again; succeed if
# the digests differ.
differs_after() {
	sstool digest d >before &&
	eval "$1" &&
	touch -h -d "$T0" d &&
	sstool digest d >after &&
	! test_cmp before after
}

test_expect_success 'digest: notices content, mode, a nanosecond, a name' '
	mkdir d && printf "some content\n" >d/f &&
	touch -d $T0 d/f d &&
	differs_after "sstool flip d/f 3 && touch -d $T0 d/f" &&
	differs_after "chmod 600 d/f" &&
	differs_after "chmod u+s d/f" &&
	differs_after "touch -d @1600000000.000000002 d/f" &&
	differs_after "mv d/f d/g" &&
	differs_after "mkdir d/sub" &&
	differs_after "chmod 1777 d/sub" &&
	differs_after "touch -d @1600000000.000000003 d/sub"
'

test_expect_success 'digest: symlinks, fifos, odd names' '
	mkdir o &&
	ln -s "target with space" o/link &&
	mkfifo o/fifo &&
	printf x >"o/$(printf "new\nline\377")" &&
	sstool digest o >actual &&
	test_line_count = 4 actual &&
	test_grep "^link type=l .* target=target\\\\x20with\\\\x20space$" actual &&
	test_grep "^fifo type=p mode=0644 " actual &&
	test_grep "^new\\\\x0aline\\\\xff type=f " actual &&
	differs_after "ln -s one d/l" &&
	differs_after "rm d/l && ln -s two d/l" &&
	differs_after "touch -h -d @1600000000.000000004 d/l"
'

test_expect_success 'digest: a hard link is not a copy' '
	mkdir hl cp &&
	printf data >hl/f && ln hl/f hl/g &&
	printf data >cp/f && cp -p cp/f cp/g &&
	touch -d $T0 hl/f cp/f cp/g hl cp &&
	sstool digest hl >hl.digest &&
	sstool digest cp >cp.digest &&
	! test_cmp hl.digest cp.digest &&
	test_grep "^g .* link=1$" hl.digest &&
	test_grep ! "link=" cp.digest
'

test_expect_success 'digest: hard-link groups are numbered in path order' '
	mkdir hg && printf 1 >hg/z && printf 2 >hg/b &&
	ln hg/z hg/a && ln hg/b hg/c && ln hg/z hg/zz &&
	sstool digest hg | sed -n "s/^\([a-z]*\) .* link=\([0-9]\).*/\1 \2/p" >actual &&
	printf "a 1\nb 2\nc 2\nz 1\nzz 1\n" >expect &&
	test_cmp expect actual
'

test_expect_success ROOT 'digest: notices owner and group' '
	differs_after "chown 1 d/sub" &&
	differs_after "chgrp 2 d/sub"
'

test_expect_success MKNOD 'digest: device numbers' '
	mkdir dev && mknod dev/null c 1 3 && mknod dev/other c 1 5 &&
	sstool digest dev >actual &&
	test_grep "^null type=c .* rdev=1:3$" actual &&
	test_grep "^other type=c .* rdev=1:5$" actual
'

test_expect_success XATTR 'digest: notices extended attributes' '
	setfattr -n user.one -v 1 d/sub &&
	differs_after "setfattr -n user.one -v 2 d/sub" &&
	differs_after "setfattr -n user.two -v 2 d/sub" &&
	differs_after "setfattr -x user.one d/sub" &&
	sstool digest d >actual &&
	test_grep "^sub type=d .* xattr:user\.two=[0-9a-f]\{64\}$" actual
'

test_expect_success SPARSE 'digest: notices a hole being filled' '
	mkdir sp &&
	truncate -s 4M sp/f &&
	printf x | dd of=sp/f bs=1 seek=2000000 conv=notrunc 2>/dev/null &&
	touch -d $T0 sp/f sp &&
	sstool digest sp >before &&
	test_grep "^f .* data=[0-9]*+[0-9]*$" before &&
	cp --sparse=never sp/f filled && mv filled sp/f &&
	touch -d $T0 sp/f sp &&
	sstool digest sp >after &&
	! test_cmp before after &&
	sed "s/ data=.*//" before >expect &&
	test_cmp expect after
'

test_expect_success 'flip: changes one byte, twice restores it' '
	printf abcdef >fl &&
	sstool flip fl 0 &&
	printf "\140bcdef" | cmp - fl &&
	sstool flip fl -1 0x20 &&
	printf "\140bcdeF" | cmp - fl &&
	sstool flip fl 0 && sstool flip fl -1 32 &&
	printf abcdef | cmp - fl &&
	test_expect_code 2 sstool flip fl 6 &&
	test_expect_code 2 sstool flip fl -7 &&
	test_expect_code 2 sstool flip fl 0 0
'

test_expect_success 'grepall: contents, names, block boundaries, exit codes' '
	mkdir g g/sub &&
	sstool randfile g/sub/bin 3M 9 &&
	printf "NEEDLE-in-binary" |
		dd of=g/sub/bin bs=1 seek=1048570 conv=notrunc 2>/dev/null &&
	printf "%s\n" "$(pwd)/g/sub/bin" >expect &&
	(cd / && sstool grepall "$TRASH_DIRECTORY/g" NEEDLE-in-binary) >actual &&
	test_cmp expect actual &&
	touch g/sub/name-NEEDLE2 &&
	sstool grepall g NEEDLE2 >actual &&
	test_grep "^g/sub/name-NEEDLE2$" actual &&
	ln -s "/NEEDLE3/elsewhere" g/link &&
	sstool grepall g NEEDLE3 &&
	test_expect_code 1 sstool grepall g NOT-THERE &&
	test_expect_code 2 sstool grepall no-such-dir NEEDLE2
'

test_expect_success 'grepall: does not follow symlinks out of the tree' '
	mkdir gs && printf "secret-outside\n" >outside &&
	ln -s ../outside gs/l &&
	test_expect_code 1 sstool grepall gs secret-outside
'

test_expect_success 'stattree: counts every entry and directory, any number of threads' '
	sstool gen st 5 400 >/dev/null &&
	mkdir -p st/deep/a/b/c && ln -s /nonexistent st/deep/dangling &&
	ln -s .. st/deep/a/up &&
	echo "$(find st -mindepth 1 | wc -l) $(find st -mindepth 1 -type d | wc -l)" >expect &&
	for n in 1 2 7 64; do
		sstool stattree st $n >actual &&
		test_cmp expect actual || return 1
	done &&
	test_expect_code 2 sstool stattree no-such-dir 4 &&
	test_expect_code 2 sstool stattree st 0 &&
	test_expect_code 2 sstool stattree st 257
'

test_done
