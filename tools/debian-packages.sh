# shellcheck shell=bash
# install_debian_packages NAME...: installs the Debian packages not yet installed.
# Sourced by tools/test.sh and bench/*.sh, so a fresh machine needs nothing by hand.
install_debian_packages() {
	local missing=() package
	for package in "$@"; do
		dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
	done
	((${#missing[@]})) || return 0
	local sudo=()
	[[ $EUID -eq 0 ]] || sudo=(sudo)
	echo "installing ${missing[*]}" >&2
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
