//! Where an image keeps its data, so the named volume is mounted there and nowhere else.
//!
//! The official images changed layout at 18: 17 and older declare `VOLUME
//! /var/lib/postgresql/data` with PGDATA there; 18 and later declare `VOLUME /var/lib/postgresql`
//! with PGDATA in `/var/lib/postgresql/18/docker`. A named volume mounted anywhere but over the
//! declared volume that holds PGDATA leaves PGDATA in an anonymous volume that `db-down` orphans:
//! the data is gone at the next `db-up`. So the mount point is read from the image itself (its
//! declared volumes and PGDATA, `docker image inspect`), never assumed from a tag.

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::child_process::read_captured;

/// Where the checkout's named volume goes in a container of one image.
#[derive(Debug, PartialEq, Eq)]
pub struct DataLayout {
    /// The image's PGDATA.
    pub pgdata: String,
    /// Where the named volume is mounted: the declared volume that holds PGDATA (the deepest,
    /// if several do), else PGDATA itself.
    pub mount: String,
    /// Volumes the image declares elsewhere: Docker gives each container an anonymous volume
    /// there, which `db-down` leaves behind. None in the official images.
    pub elsewhere: Vec<String>,
}

/// Reads the image's declared volumes and PGDATA. The image must be here (pulled or built).
pub fn of_image(sh: &Shell, image: &str) -> Result<DataLayout> {
    // One line per declared volume, then one per environment variable, told apart by a prefix:
    // a Go template, so no JSON parser is needed.
    let format = "{{range $path, $_ := .Config.Volumes}}volume {{$path}}\n{{end}}\
                  {{range .Config.Env}}env {{.}}\n{{end}}";
    let config = read_captured(
        cmd!(sh, "docker image inspect --format {format} {image}"),
        &format!("read where the image {image} keeps its data"),
    )?;
    let volumes: Vec<&str> = config.lines().filter_map(|line| line.strip_prefix("volume ")).collect();
    let pgdata = config.lines().filter_map(|line| line.strip_prefix("env PGDATA=")).next_back();
    from_config(pgdata, &volumes).with_context(|| format!("the image {image}"))
}

/// The layout from an image's PGDATA and declared volumes.
pub fn from_config(pgdata: Option<&str>, volumes: &[&str]) -> Result<DataLayout> {
    let Some(pgdata) = pgdata.map(|p| p.trim_end_matches('/')).filter(|p| p.starts_with('/') && p.len() > 1) else {
        bail!(
            "it sets no PGDATA (or not an absolute path), so the Docker backend cannot tell where it keeps its \
             data; use the official postgres image or one built on it, or set PGDATA in the image"
        );
    };
    let volumes: Vec<&str> =
        volumes.iter().map(|volume| volume.trim_end_matches('/')).filter(|v| !v.is_empty()).collect();
    let mount =
        volumes.iter().copied().filter(|volume| holds(volume, pgdata)).max_by_key(|v| v.len()).unwrap_or(pgdata);
    let elsewhere = volumes.iter().filter(|volume| **volume != mount).map(|volume| volume.to_string()).collect();
    Ok(DataLayout { pgdata: pgdata.to_owned(), mount: mount.to_owned(), elsewhere })
}

/// Whether the folder `dir` is `path` or holds it.
fn holds(dir: &str, path: &str) -> bool {
    path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

/// One of a container's mounts, as `docker inspect` lists them.
#[derive(Debug)]
pub struct Mount {
    /// `volume`, `bind`, `tmpfs`.
    pub kind: String,
    /// The volume's name (a long hex id for an anonymous one).
    pub name: String,
    pub destination: String,
}

/// A container's data in a volume that is not the checkout's: an earlier xtask mounted the named
/// volume at `/var/lib/postgresql` whatever the image, so an image of 17 or older kept PGDATA in
/// an anonymous volume, which Docker keeps when the container goes but no later container mounts.
#[derive(Debug, PartialEq, Eq)]
pub struct StrandedData {
    /// The volume that holds the data.
    pub volume: String,
    /// Where that volume's content belongs in the named volume (`""` for its root), when the
    /// image's layout says; `None` when it cannot be told.
    pub belongs_at: Option<String>,
}

/// Where a container keeps its data, if not in `named_volume`: one `docker inspect`.
pub fn stranded_data(sh: &Shell, container: &str, named_volume: &str) -> Result<Option<StrandedData>> {
    let format = "{{range $path, $_ := .Config.Volumes}}volume {{$path}}\n{{end}}\
                  {{range .Config.Env}}env {{.}}\n{{end}}\
                  {{range .Mounts}}mount {{.Type}} {{.Name}} {{.Destination}}\n{{end}}";
    let config = read_captured(
        cmd!(sh, "docker inspect --format {format} {container}"),
        "read where the container keeps its data",
    )?;
    let volumes: Vec<&str> = config.lines().filter_map(|line| line.strip_prefix("volume ")).collect();
    let pgdata = config.lines().filter_map(|line| line.strip_prefix("env PGDATA=")).next_back();
    let mounts: Vec<Mount> = config
        .lines()
        .filter_map(|line| line.strip_prefix("mount "))
        .filter_map(|line| {
            let mut fields = line.splitn(3, ' ');
            let (kind, name, destination) = (fields.next()?, fields.next()?, fields.next()?);
            Some(Mount { kind: kind.to_owned(), name: name.to_owned(), destination: destination.to_owned() })
        })
        .collect();
    Ok(stranded_in(pgdata, &volumes, &mounts, named_volume))
}

/// The volume holding PGDATA among `mounts`, when it is not `named_volume`.
pub fn stranded_in(
    pgdata: Option<&str>,
    volumes: &[&str],
    mounts: &[Mount],
    named_volume: &str,
) -> Option<StrandedData> {
    let layout = from_config(pgdata, volumes).ok()?;
    let holder = mounts
        .iter()
        .filter(|mount| holds(mount.destination.trim_end_matches('/'), &layout.pgdata))
        .max_by_key(|mount| mount.destination.len())?;
    if holder.kind != "volume" || holder.name == named_volume {
        return None;
    }
    let destination = holder.destination.trim_end_matches('/');
    let belongs_at = holds(&layout.mount, destination).then(|| destination[layout.mount.len()..].to_owned());
    Some(StrandedData { volume: holder.name.clone(), belongs_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_18_mounts_the_parent_of_the_major_directories() {
        let layout = from_config(Some("/var/lib/postgresql/18/docker"), &["/var/lib/postgresql"]).unwrap();
        assert_eq!(layout.mount, "/var/lib/postgresql");
        assert!(layout.elsewhere.is_empty());
    }

    #[test]
    fn official_17_and_older_mount_pgdata_itself() {
        let layout = from_config(Some("/var/lib/postgresql/data"), &["/var/lib/postgresql/data"]).unwrap();
        assert_eq!(layout.mount, "/var/lib/postgresql/data");
        assert!(layout.elsewhere.is_empty());
    }

    #[test]
    fn the_deepest_volume_that_holds_pgdata_wins() {
        let layout =
            from_config(Some("/var/lib/postgresql/data/pgdata"), &["/var/lib/postgresql", "/var/lib/postgresql/data"])
                .unwrap();
        assert_eq!(layout.mount, "/var/lib/postgresql/data");
        assert_eq!(layout.elsewhere, ["/var/lib/postgresql"]);
    }

    #[test]
    fn a_pgdata_outside_every_volume_is_mounted_itself_and_the_others_are_named() {
        // An image built on 17 that moved PGDATA keeps 17's VOLUME: it cannot be undeclared.
        let layout = from_config(Some("/srv/pg/"), &["/var/lib/postgresql/data"]).unwrap();
        assert_eq!(layout.mount, "/srv/pg");
        assert_eq!(layout.elsewhere, ["/var/lib/postgresql/data"]);
    }

    #[test]
    fn a_prefix_that_is_not_a_parent_folder_does_not_hold_pgdata() {
        let layout = from_config(Some("/var/lib/postgresql-data"), &["/var/lib/postgresql"]).unwrap();
        assert_eq!(layout.mount, "/var/lib/postgresql-data");
    }

    fn mount(kind: &str, name: &str, destination: &str) -> Mount {
        Mount { kind: kind.to_owned(), name: name.to_owned(), destination: destination.to_owned() }
    }

    #[test]
    fn data_in_an_anonymous_volume_under_the_named_one_is_stranded() {
        // What an earlier xtask made with an image of 17 or older.
        let mounts =
            [mount("volume", "p_db-data", "/var/lib/postgresql"), mount("volume", "3f2a", "/var/lib/postgresql/data")];
        let stranded =
            stranded_in(Some("/var/lib/postgresql/data"), &["/var/lib/postgresql/data"], &mounts, "p_db-data").unwrap();
        assert_eq!(stranded, StrandedData { volume: "3f2a".to_owned(), belongs_at: Some(String::new()) });
    }

    #[test]
    fn data_in_the_named_volume_is_not_stranded() {
        let mounts = [mount("volume", "p_db-data", "/var/lib/postgresql/data")];
        assert_eq!(
            stranded_in(Some("/var/lib/postgresql/data"), &["/var/lib/postgresql/data"], &mounts, "p_db-data"),
            None
        );
        let mounts = [mount("volume", "p_db-data", "/var/lib/postgresql")];
        assert_eq!(
            stranded_in(Some("/var/lib/postgresql/18/docker"), &["/var/lib/postgresql"], &mounts, "p_db-data"),
            None
        );
    }

    #[test]
    fn data_in_a_bind_mount_is_not_the_backends_to_move() {
        let mounts = [mount("bind", "", "/var/lib/postgresql/data")];
        assert_eq!(
            stranded_in(Some("/var/lib/postgresql/data"), &["/var/lib/postgresql/data"], &mounts, "p_db-data"),
            None
        );
    }

    #[test]
    fn an_image_without_pgdata_is_refused() {
        for pgdata in [None, Some(""), Some("relative/data"), Some("/")] {
            let err = from_config(pgdata, &["/var/lib/postgresql"]).unwrap_err().to_string();
            assert!(err.contains("sets no PGDATA"), "{pgdata:?}: {err}");
        }
    }
}
