-- A sample one-stop (một cửa điện tử) database, PostgreSQL.
--
-- Modelled in general terms on how public one-stop software stores dossiers and on the
-- dossier register (sổ theo dõi hồ sơ) such software keeps; the names and the layout are
-- this project's own. It shows what a real backend looks like to change data capture:
--   * a dossier table keyed by the dossier code, with a STRING status code '1'..'10';
--   * channel codes ('1' counter, '2' online, '3' public postal service);
--   * local wall-clock timestamps WITHOUT an offset (timestamp, not timestamptz);
--   * an append-only processing log, payment requests, digitized components, apology
--     drafts carrying a new appointment date;
--   * soft deletes (deleted_at) instead of DELETE;
--   * no personal data in this copy: the applicant is an opaque reference into the
--     vendor's own applicant records, which the capture never reads.
-- The role that runs this file owns the tables; the replication role (tthc_cdc) only
-- reads them (scripts/cdc.sh grants SELECT) and streams the publication below.

CREATE TABLE dossier (
    dossier_code            varchar(50)  PRIMARY KEY,     -- e.g. 000.00.18.H50-220401-0001
    unit_code               varchar(50)  NOT NULL,        -- receiving unit (owner)
    procedure_code          varchar(64),                  -- procedure (thủ tục) code
    channel_code            varchar(2),                   -- '1' counter, '2' online, '3' postal
    applicant_ref           varchar(64),                  -- opaque; never a name or an ID number
    subject                 varchar(500),                 -- subject line, edited freely
    status_code             varchar(5)   NOT NULL DEFAULT '1',
        -- '1' submitted, not yet received   '2' received        '3' returned/withdrawn
        -- '4' in processing                 '5' supplement asked '6' fee due
        -- '7' applicant asks to withdraw    '8' stopped          '9' result ready
        -- '10' result returned
    submitted_at            timestamp,                    -- online submission
    received_at             timestamp,                    -- ngày tiếp nhận
    appointment_at          timestamp,                    -- ngày hẹn trả (as received)
    step_due_at             timestamp,                    -- due of the current unit's step
    holder_unit_code        varchar(50),                  -- unit holding the dossier now
    supplement_requested_at timestamp,                    -- last supplement request
    supplemented_at         timestamp,                    -- last supplement handed in
    extended_due_at         timestamp,                    -- gia hạn: the new appointment
    extended_at             timestamp,                    -- when the extension was decided
    digitization_code       varchar(2),                   -- '1' pending, '2' done, '3' partly
    components_digitized_at timestamp,
    result_digitized_at     timestamp,
    result_code             varchar(2),                   -- '1' granted, '0' refused
    finished_at             timestamp,                    -- processing ended (status '9')
    returned_at             timestamp,                    -- result handed over (status '10')
    withdrawn_at            timestamp,                    -- returned or withdrawn (status '3')
    sync_flag               varchar(2)   NOT NULL DEFAULT '0',  -- national-portal sync: '0' dirty
    created_at              timestamp    NOT NULL,
    updated_at              timestamp,
    deleted_at              timestamp,                    -- soft delete
    delete_reason           varchar(200)
);
CREATE INDEX dossier_received_at ON dossier (received_at);
CREATE INDEX dossier_status ON dossier (status_code);

-- Append-only: one row per action on a dossier; rows are never updated.
CREATE TABLE processing_log (
    id              bigserial    PRIMARY KEY,
    dossier_code    varchar(50)  NOT NULL,
    action_code     varchar(20)  NOT NULL,
        -- 'receive', 'transfer', 'supplement', 'extend', 'finish', 'return', 'withdraw',
        -- 'apology', 'delete', 'edit'
    from_unit_code  varchar(50),
    to_unit_code    varchar(50),                          -- for transfers between units
    step_due_at     timestamp,                            -- due of the step a transfer opens
    acted_at        timestamp    NOT NULL,
    deleted_at      timestamp
);
CREATE INDEX processing_log_dossier ON processing_log (dossier_code);

CREATE TABLE payment_request (
    id              bigserial    PRIMARY KEY,
    dossier_code    varchar(50)  NOT NULL,
    request_code    varchar(50)  NOT NULL,
    amount          bigint       NOT NULL,                -- VND
    channel_code    varchar(20)  NOT NULL,                -- 'dvcqg' national portal,
                                                          -- 'mot-cua' one-stop, 'tien-mat' cash
    status          varchar(30)  NOT NULL DEFAULT 'Chờ thanh toán',
        -- 'Chờ thanh toán', 'Đã thanh toán', 'Hủy thanh toán'
    unit_code       varchar(50)  NOT NULL,                -- collecting unit
    requested_at    timestamp    NOT NULL,
    paid_at         timestamp,
    deleted_at      timestamp
);
CREATE INDEX payment_request_dossier ON payment_request (dossier_code);

-- Components of the dossier (giấy tờ thành phần); digitization per component.
CREATE TABLE dossier_component (
    id                 bigserial    PRIMARY KEY,
    dossier_code       varchar(50)  NOT NULL,
    component_code     varchar(50)  NOT NULL,
    digitization_code  varchar(2)   NOT NULL DEFAULT '0',  -- '0' no, '1' digitized, '2' reused
    digitized_at       timestamp,
    deleted_at         timestamp
);
CREATE INDEX dossier_component_dossier ON dossier_component (dossier_code);

-- Drafts of letters; an apology (kind 'Xin lỗi') carries the new appointment date.
CREATE TABLE apology_draft (
    id                  bigserial    PRIMARY KEY,
    dossier_code        varchar(50)  NOT NULL,
    unit_code           varchar(50)  NOT NULL,
    kind                varchar(20)  NOT NULL DEFAULT 'Xin lỗi',
    new_appointment_at  timestamp,
    state               varchar(30)  NOT NULL DEFAULT 'Chờ ký duyệt',
        -- 'Chờ ký duyệt' awaiting signature, 'Đã ban hành' issued, 'Từ chối' refused
    created_at          timestamp    NOT NULL,
    issued_at           timestamp
);
CREATE INDEX apology_draft_dossier ON apology_draft (dossier_code);

-- Updated tables log their whole old row, so the capture sees which columns an update
-- changed (docs/cdc.md: without it every rule re-fires, harmlessly but more often).
ALTER TABLE dossier REPLICA IDENTITY FULL;
ALTER TABLE payment_request REPLICA IDENTITY FULL;
ALTER TABLE apology_draft REPLICA IDENTITY FULL;

-- What Debezium streams (publication.autocreate.mode=disabled in connector.json): the
-- tables the mapping reads, nothing else.
CREATE PUBLICATION tthc_onestop FOR TABLE dossier, processing_log, payment_request, apology_draft;
