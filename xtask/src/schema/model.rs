//! The schema of one database as plain data: what `catalog.rs` reads, what `sql.rs` and
//! `mermaid.rs` render and what `drift.rs` compares. Every list is sorted by schema, then name,
//! so two reads of equal schemas are equal values whatever order the catalog returned.
//!
//! Definitions the server can spell itself (constraints, indexes, triggers, views, functions,
//! defaults) are kept as the server's own text: `pg_get_*def` output, read with only
//! `pg_catalog` on the search path, so every name in them is schema-qualified.

/// A schema-qualified name, unquoted.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name {
    pub schema: String,
    pub name: String,
}

use super::ident::ident;

impl std::fmt::Display for Name {
    /// `schema.name`, each part quoted only where SQL needs it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", ident(&self.schema), ident(&self.name))
    }
}

/// Everything the migrations can create that a reviewer needs to see.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schema {
    /// Schemas other than `public` and the system's own.
    pub schemas: Vec<String>,
    pub extensions: Vec<Extension>,
    pub collations: Vec<Collation>,
    pub types: Vec<Type>,
    pub functions: Vec<Function>,
    pub sequences: Vec<Sequence>,
    pub tables: Vec<Table>,
    pub views: Vec<View>,
    pub indexes: Vec<Index>,
    pub triggers: Vec<Trigger>,
    /// What needs what to exist first, as the server records it (`pg_depend`), between the
    /// objects above: `(object, what it needs)`, sorted. schema.sql is written in this order.
    pub dependencies: Vec<(Object, Object)>,
}

/// One object of the model, as dependencies name it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Object {
    Schema(String),
    Extension(String),
    Collation(Name),
    /// An enum, domain or composite type.
    Type(Name),
    /// A function or procedure, with its identity arguments.
    Function(Name, String),
    Sequence(Name),
    /// A table or partition, with every constraint written inside it.
    Table(Name),
    /// A view or materialized view.
    View(Name),
    Index(Name),
    /// A foreign key: the table, the constraint's name.
    ForeignKey(Name, String),
    /// A trigger: the table, the trigger's name.
    Trigger(Name, String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    pub name: String,
    pub schema: String,
}

/// A collation of the user's own (`CREATE COLLATION`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collation {
    pub name: Name,
    /// `libc`, `icu` or `builtin`.
    pub provider: String,
    /// The ICU or builtin locale.
    pub locale: Option<String>,
    /// libc's LC_COLLATE and LC_CTYPE.
    pub lc_collate: Option<String>,
    pub lc_ctype: Option<String>,
    pub deterministic: bool,
    /// ICU tailoring rules (PostgreSQL 16+).
    pub rules: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Type {
    pub name: Name,
    pub kind: TypeKind,
    pub comment: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeKind {
    /// The labels in their sort order.
    Enum(Vec<String>),
    Domain {
        base: String,
        /// `schema.name`, quoted, when it is not the base type's.
        collation: Option<String>,
        not_null: bool,
        default: Option<String>,
        /// In name order.
        checks: Vec<Check>,
    },
    /// The attributes, in order.
    Composite(Vec<Attribute>),
}

/// A domain's CHECK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    /// `pg_get_constraintdef`: `CHECK ((VALUE > 0))`, with ` NOT VALID` when it is not validated.
    pub definition: String,
    pub validated: bool,
}

/// An attribute of a composite type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub data_type: String,
    /// `schema.name`, quoted, when it is not the type's.
    pub collation: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    pub name: Name,
    /// The argument types, which tell overloads apart: `integer, text`.
    pub arguments: String,
    /// `pg_get_functiondef`: the whole `CREATE OR REPLACE FUNCTION` (or `PROCEDURE`).
    pub definition: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sequence {
    pub name: Name,
    pub data_type: String,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cache: i64,
    pub cycle: bool,
    /// The column whose `DROP` drops the sequence too (`serial`, `OWNED BY`).
    pub owned_by: Option<(Name, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub name: Name,
    /// In the table's own order (a partition attached with `ATTACH PARTITION` keeps the order
    /// it was created with).
    pub columns: Vec<Column>,
    /// Every constraint but the NOT NULLs (which are the columns' own), sorted by name.
    pub constraints: Vec<Constraint>,
    /// `PARTITION BY …` for a partitioned table.
    pub partition_key: Option<String>,
    /// The parent and `FOR VALUES …` of a partition.
    pub partition_of: Option<(Name, String)>,
    pub unlogged: bool,
    /// Storage parameters, as stored (`fillfactor=70`), in the order they were set.
    pub options: Vec<String>,
    pub comment: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// `format_type`: `timestamp with time zone`, `character varying(100)`, `public.status`.
    pub data_type: String,
    pub collation: Option<String>,
    pub not_null: bool,
    pub default: Option<String>,
    /// `ALWAYS` or `BY DEFAULT`, for an identity column.
    pub identity: Option<&'static str>,
    /// The expression of a generated column, and whether it is stored.
    pub generated: Option<(String, bool)>,
    pub comment: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constraint {
    pub name: String,
    pub kind: ConstraintKind,
    /// `pg_get_constraintdef`: `PRIMARY KEY (id)`, `CHECK ((x > 0))`, `FOREIGN KEY …`, with
    /// ` NOT VALID` when it is not validated.
    pub definition: String,
    /// False for a `NOT VALID` constraint not validated since.
    pub validated: bool,
    /// The constrained columns, in key order (empty for a CHECK on an expression only).
    pub columns: Vec<String>,
    pub foreign: Option<ForeignKey>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstraintKind {
    PrimaryKey,
    Unique,
    ForeignKey,
    Check,
    Exclude,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignKey {
    pub table: Name,
    pub columns: Vec<String>,
    /// `NO ACTION`, `RESTRICT`, `CASCADE`, `SET NULL` or `SET DEFAULT`.
    pub on_delete: &'static str,
    pub on_update: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    pub name: Name,
    pub materialized: bool,
    /// `pg_get_viewdef`: the query, ending with `;`.
    pub definition: String,
    /// The options, as stored (`check_option=local`, `security_invoker=true`, a materialized
    /// view's storage parameters), in the order they were set.
    pub options: Vec<String>,
    pub comment: Option<String>,
}

/// An index no constraint owns (those come with their constraint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Index {
    pub name: Name,
    pub table: Name,
    /// `pg_get_indexdef`: the whole `CREATE [UNIQUE] INDEX`.
    pub definition: String,
    /// False for an index that cannot be used: left so by a `CREATE INDEX CONCURRENTLY` that
    /// failed, or made `ON ONLY` a partitioned table whose partitions' indexes are not attached.
    pub valid: bool,
    /// For a unique index on plain columns without a WHERE clause, its columns: a key the
    /// diagram shows as UK.
    pub unique_columns: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    pub name: String,
    pub table: Name,
    /// `pg_get_triggerdef`: the whole `CREATE TRIGGER`.
    pub definition: String,
    pub fires: Fires,
}

/// When a trigger fires (`pg_trigger.tgenabled`), as `ALTER TABLE … TRIGGER` sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fires {
    /// As created: in sessions whose `session_replication_role` is `origin` or `local`.
    Origin,
    /// `DISABLE TRIGGER`: never.
    Disabled,
    /// `ENABLE REPLICA TRIGGER`: only in replicas.
    Replica,
    /// `ENABLE ALWAYS TRIGGER`: in every session.
    Always,
}

impl Table {
    pub fn primary_key(&self) -> Option<&Constraint> {
        self.constraints.iter().find(|c| c.kind == ConstraintKind::PrimaryKey)
    }

    pub fn foreign_keys(&self) -> impl Iterator<Item = (&Constraint, &ForeignKey)> {
        self.constraints.iter().filter_map(|c| c.foreign.as_ref().map(|fk| (c, fk)))
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

impl Schema {
    /// The column sets that are unique in `table`: its primary key, its unique constraints and
    /// its unique indexes on plain columns without a WHERE clause.
    pub fn unique_keys<'a>(&'a self, table: &'a Table) -> impl Iterator<Item = &'a [String]> {
        let constraints = table
            .constraints
            .iter()
            .filter(|c| matches!(c.kind, ConstraintKind::PrimaryKey | ConstraintKind::Unique))
            .map(|c| c.columns.as_slice());
        let indexes =
            self.indexes.iter().filter(move |i| i.table == table.name).filter_map(|i| i.unique_columns.as_deref());
        constraints.chain(indexes)
    }
}

/// The plainest model values, for the renderers' and the comparison's unit tests to build on.
#[cfg(test)]
pub mod samples {
    use super::{Column, Name, Table};

    /// `public.<name>`.
    pub fn name(name: &str) -> Name {
        Name { schema: "public".into(), name: name.into() }
    }

    /// A nullable column with nothing else to it.
    pub fn column(name: &str, data_type: &str) -> Column {
        Column {
            name: name.into(),
            data_type: data_type.into(),
            collation: None,
            not_null: false,
            default: None,
            identity: None,
            generated: None,
            comment: None,
        }
    }

    /// A plain table in `public` with these columns and nothing else.
    pub fn table(table: &str, columns: Vec<Column>) -> Table {
        Table {
            name: name(table),
            columns,
            constraints: Vec::new(),
            partition_key: None,
            partition_of: None,
            unlogged: false,
            options: Vec::new(),
            comment: None,
        }
    }
}
