//! The pod a socket's cgroup belongs to, from kubelet's cgroup names: the pod's own
//! cgroup is named after its UID, with either cgroup driver and any runtime
//! (`kubepods-burstable-pod<uid, _ for ->.slice` with systemd, `pod<uid>` with
//! cgroupfs), and each container's cgroup (`cri-containerd-<id>.scope`,
//! `crio-<id>.scope`, `docker-<id>.scope`, or `<id>`) sits inside it. Pure parsing.

/// The pod UID in the cgroup names `parent/leaf` (a container's cgroup and its pod's,
/// or a pod's cgroup and its QoS class's), with dashes; `None` for a cgroup that is not
/// a pod's.
pub fn pod_uid(names: &str) -> Option<String> {
    let (parent, leaf) = names.rsplit_once('/').unwrap_or(("", names));
    [parent, leaf].into_iter().find_map(uid_in)
}

/// The UID a pod cgroup's directory `name` carries.
fn uid_in(name: &str) -> Option<String> {
    let stem = name.strip_suffix(".slice").unwrap_or(name);
    // `kubepods-<qos>-pod<uid>` or `kubepods-pod<uid>` (systemd), `pod<uid>` (cgroupfs).
    let at = match stem.rfind("-pod") {
        Some(i) if stem.starts_with("kubepods") => i + "-pod".len(),
        _ => stem.strip_prefix("pod").map(|_| "pod".len())?,
    };
    let uid = stem[at..].replace('_', "-");
    let uuid = uid.len() == 36
        && uid.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    uuid.then_some(uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9";

    #[test]
    fn every_driver_and_runtime() {
        let systemd = "kubepods-burstable-pod1b2c3d4e_5f60_4718_8293_a4b5c6d7e8f9.slice";
        let guaranteed = "kubepods-pod1b2c3d4e_5f60_4718_8293_a4b5c6d7e8f9.slice";
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        for names in [
            format!("{systemd}/cri-containerd-{id}.scope"),
            format!("{guaranteed}/crio-{id}.scope"),
            format!("{systemd}/docker-{id}.scope"),
            format!("pod{UID}/{id}"),
            // A socket made in the pod's cgroup itself.
            format!("kubepods-besteffort.slice/{systemd}"),
        ] {
            assert_eq!(pod_uid(&names).as_deref(), Some(UID), "{names}");
        }
    }

    #[test]
    fn other_cgroups_are_no_pods() {
        for names in [
            "system.slice/kubelet.service",
            "user.slice/user-0.slice",
            "kubepods.slice/kubepods-burstable.slice",
            "/",
            "podman-1234.scope/x",
            "kubepods-burstable-podnot_a_uid.slice/cri-containerd-x.scope",
        ] {
            assert_eq!(pod_uid(names), None, "{names}");
        }
    }
}
