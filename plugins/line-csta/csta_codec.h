/*
 * plugins/line-csta/csta_codec.h - CSTA Phase III XML (ECMA-323) on the
 * wire: the frame header, the decoder of one document into a plain struct,
 * and the encoder of the requests and answers the driver sends.
 *
 * Framing. Every document travels behind an 8-byte header: a 4-byte
 * big-endian length that counts the whole frame (header + XML), then a
 * 4-character ASCII invoke id ("0001".."9998" for requests and their
 * answers, "9999" for unsolicited events by custom). The reader checks the
 * header before it buffers the body, so a peer that announces a frame
 * larger than max_frame_bytes is refused before it costs any memory. A
 * header that cannot be a CSTA header (a length below 8, beyond the limit,
 * an invoke id that is not four printable ASCII characters) means the
 * stream is out of step: the link is dropped, never resynchronised by
 * guessing.
 *
 * Documents. csta_decode() is a pure function from the bytes of one
 * document to a struct csta_msg: it reads with libxml2 without network
 * access, without entity substitution and without loading a DTD (a
 * document that carries a DTD is refused: CSTA never does), matches
 * elements by their local name, and accepts the namespaces of ECMA-323
 * editions 3 to 5 and of ECMA-354 (application sessions) as well as none.
 * Elements it does not know, private data and extensions, are skipped. The
 * struct holds everything the driver acts on for every service and event it
 * knows; fields a document does not carry stay "". Device identifiers are
 * kept as the PBX wrote them, only the XML around them is removed.
 *
 * Encoding. csta_encode_*() write one document into a caller's buffer in
 * the buffer's ECMA-323 namespace: ed3 (the edition every PBX accepts)
 * unless csta_buf_edition() chose ed4 or ed5 (a link's "edition" key, for a
 * PBX that answers only its own edition); text is escaped.
 * csta_frame() prepends the header.
 */
#ifndef CSTA_CODEC_H
#define CSTA_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define CSTA_HEADER_BYTES 8
#define CSTA_INVOKE_EVENT 9999
#define CSTA_NS_ED3	  "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
#define CSTA_NS_ED4	  "http://www.ecma-international.org/standards/ecma-323/csta/ed4"
#define CSTA_NS_ED5	  "http://www.ecma-international.org/standards/ecma-323/csta/ed5"
#define CSTA_NS_SESSION	  "http://www.ecma-international.org/standards/ecma-354/appl_session"

/* ---- framing ---- */

/* Checks a header: 0 and the frame's total length and invoke id (0..9999,
 * or -1 for an id that is not four digits, still printable), or -EPROTO
 * (length below the header) or -EMSGSIZE (beyond max_frame). */
int csta_header_parse(const uint8_t hdr[CSTA_HEADER_BYTES], size_t max_frame, size_t *total,
		      int *invoke);
/* Writes the header for a document of xml_len bytes. */
void csta_header_write(uint8_t hdr[CSTA_HEADER_BYTES], size_t xml_len, int invoke);

/*
 * Incremental reader: bytes in, whole frames out. A frame is handed to
 * on_frame with its invoke id and document; the reader keeps only the
 * bytes of an incomplete frame. csta_reader_feed returns 0, or the header
 * error (the stream is unusable and the caller drops the link), or what
 * on_frame returned when that is negative (the caller stopped it).
 */
typedef int(csta_frame_h)(void *arg, int invoke, const char *xml, size_t len);
struct csta_reader {
	size_t max_frame;
	uint8_t *buf;
	size_t len, cap;
};
void csta_reader_init(struct csta_reader *r, size_t max_frame);
void csta_reader_reset(struct csta_reader *r);
void csta_reader_free(struct csta_reader *r);
int csta_reader_feed(struct csta_reader *r, const uint8_t *data, size_t len, csta_frame_h *h,
		     void *arg);

/* ---- decoding ---- */

enum csta_type {
	CSTA_T_UNKNOWN = 0,
	/* answers to our requests */
	CSTA_T_ERROR,		/* CSTAErrorCode */
	CSTA_T_RESPONSE,	/* any other ...Response (positive) */
	CSTA_T_SESSION_POS,	/* StartApplicationSessionPosResponse */
	CSTA_T_SESSION_NEG,	/* StartApplicationSessionNegResponse */
	CSTA_T_RESET_TIMER_POS, /* ResetApplicationSessionTimerPosResponse */
	CSTA_T_RESET_TIMER_NEG,
	CSTA_T_MONITOR_START_RESP,
	CSTA_T_SNAPSHOT_RESP,
	CSTA_T_GET_FWD_RESP, /* GetForwardingResponse */
	CSTA_T_GET_DND_RESP, /* GetDoNotDisturbResponse */
	/* requests of the PBX */
	CSTA_T_SYSTEM_STATUS,
	CSTA_T_REQUEST_SYSTEM_STATUS,
	CSTA_T_SYSTEM_STATUS_RESP,
	CSTA_T_STOP_SESSION,  /* StopApplicationSession from the PBX */
	CSTA_T_OTHER_REQUEST, /* a service we do not offer: answered with an error */
	/* events */
	CSTA_T_EV_SERVICE_INITIATED,
	CSTA_T_EV_ORIGINATED,
	CSTA_T_EV_DELIVERED,
	CSTA_T_EV_ESTABLISHED,
	CSTA_T_EV_HELD,
	CSTA_T_EV_RETRIEVED,
	CSTA_T_EV_DIVERTED,
	CSTA_T_EV_TRANSFERRED,
	CSTA_T_EV_CONFERENCED,
	CSTA_T_EV_CONNECTION_CLEARED,
	CSTA_T_EV_CALL_CLEARED,
	CSTA_T_EV_FAILED,
	CSTA_T_EV_FORWARDING,
	CSTA_T_EV_DND,
	CSTA_T_EV_OUT_OF_SERVICE,
	CSTA_T_EV_BACK_IN_SERVICE,
	CSTA_T_EV_MONITOR_ENDED,
	CSTA_T_EV_OTHER, /* an event we do not map (Queued, DigitsDialed, ...) */
};

/* True for the types that answer a request (matched by invoke id). */
int csta_type_is_answer(int type);
int csta_type_is_event(int type);

/* Snapshot entries kept per document; the list grows as the document goes
 * and a longer one is cut here (snap_truncated) - a device with a thousand
 * calls is a PBX bug, not a reason to buffer without end. */
#define CSTA_SNAP_MAX 1024
#define CSTA_FWD_MAX  8
#define CSTA_DEV_MAX  128
#define CSTA_CALL_MAX 64

struct csta_snap_entry {
	char call[CSTA_CALL_MAX];
	char device[CSTA_DEV_MAX];
	char local[32];	 /* localConnectionState (compound call state), "" */
	char simple[32]; /* simpleCallState, "" */
};

struct csta_msg {
	int type;
	int edition;		   /* 3, 4, 5; 0: no or the session namespace */
	char name[64];		   /* the root element's local name */
	char xref[32];		   /* monitorCrossRefID */
	char call[CSTA_CALL_MAX];  /* the event's connection: callID */
	char device[CSTA_DEV_MAX]; /* ... and deviceID (or the feature event's device) */
	char old_call[CSTA_CALL_MAX];
	char calling[CSTA_DEV_MAX];
	char called[CSTA_DEV_MAX];
	char connected[CSTA_DEV_MAX];	/* answering, alerting, holding, added, new destination */
	char redirecting[CSTA_DEV_MAX]; /* lastRedirectionDevice, divertingDevice */
	char subject[CSTA_DEV_MAX]; /* the acting device: releasing, transferring, conferencing */
	int calling_hidden;	    /* callingDevice was restricted / notKnown */
	char cause[64];
	char lci[32];	/* localConnectionInfo */
	char error[64]; /* error value ("invalidCallID") or the category */
	char error_category[48];
	char status[32]; /* systemStatus */
	char session_id[128];
	int session_duration; /* actualSessionDuration, s; 0 unknown */
	char fwd_type[32];    /* forwardingType */
	char fwd_to[CSTA_DEV_MAX];
	int fwd_on;	  /* forwardStatus */
	int dnd_on;	  /* doNotDisturbOn */
	size_t fwd_count; /* GetForwardingResponse items (at most CSTA_FWD_MAX) */
	struct csta_fwd_item {
		char type[32];
		int on;
		char to[CSTA_DEV_MAX];
	} fwd[CSTA_FWD_MAX];
	size_t snap_count;	      /* snapshot entries (at most CSTA_SNAP_MAX kept) */
	int snap_truncated;	      /* entries were left out (beyond the cap, or no memory) */
	struct csta_snap_entry *snap; /* heap: csta_msg_free() */
	size_t snap_cap;
};

/* 0, -EBADMSG (not well-formed, no root, a DTD), -EPROTO (a root element
 * in a foreign namespace). *msg is filled as far as the document goes and
 * may own memory (the snapshot list) whatever the result: every
 * csta_decode() is followed by csta_msg_free(). */
int csta_decode(const char *xml, size_t len, struct csta_msg *msg);
void csta_msg_free(struct csta_msg *msg);
/* Once per process, before threads (the plugin's init). */
void csta_codec_init(void);

/* ---- encoding ---- */

struct csta_buf {
	char *p;
	size_t len, cap;
	int overflow;
	const char *ns; /* the ECMA-323 namespace of the documents (CSTA_NS_ED*) */
};
/* An empty buffer; its documents in the ed3 namespace. */
void csta_buf_init(struct csta_buf *b, char *mem, size_t cap);
/* The namespace of edition 3, 4 or 5 for the buffer's documents; -EINVAL
 * (the buffer keeps its namespace) for any other edition. */
int csta_buf_edition(struct csta_buf *b, int edition);

/* A connection id as a request carries it; device alone when call is "". */
struct csta_conn_ref {
	const char *call;
	const char *device;
};

enum csta_req {
	CSTA_R_MAKE_CALL = 1,
	CSTA_R_ANSWER,
	CSTA_R_CLEAR_CONNECTION,
	CSTA_R_CLEAR_CALL,
	CSTA_R_HOLD,
	CSTA_R_RETRIEVE,
	CSTA_R_CONSULT,
	CSTA_R_TRANSFER,
	CSTA_R_SINGLE_STEP_TRANSFER,
	CSTA_R_CONFERENCE,
	CSTA_R_ALTERNATE,
	CSTA_R_RECONNECT,
	CSTA_R_DEFLECT,
	CSTA_R_DIRECTED_PICKUP,
	CSTA_R_GROUP_PICKUP,
	CSTA_R_DIGITS,
	CSTA_R_SET_FORWARDING,
	CSTA_R_SET_DND,
	CSTA_R_MONITOR_START,
	CSTA_R_MONITOR_STOP,
	CSTA_R_SNAPSHOT,
	CSTA_R_SYSTEM_STATUS,
	CSTA_R_GET_FORWARDING,
	CSTA_R_GET_DND,
};

/* Every field a request may use; each request reads the ones it needs. */
struct csta_req_args {
	int req;		    /* enum csta_req */
	struct csta_conn_ref conn;  /* the call acted on (held call for transfer etc.) */
	struct csta_conn_ref other; /* the active call of transfer/conference/... */
	const char *device;	    /* calling / requesting / monitored device */
	const char *number;	    /* called, consulted, new destination */
	const char *digits;
	const char *fwd_type; /* forwardImmediate, forwardBusy, forwardNoAns */
	int on;
	const char *xref; /* MonitorStop */
};

/* Encoded length, or -ENOSPC / -EINVAL (unknown request). */
int csta_encode_request(struct csta_buf *b, const struct csta_req_args *a);
int csta_encode_start_session(struct csta_buf *b, const char *user, const char *password,
			      int duration_s);
int csta_encode_reset_timer(struct csta_buf *b, const char *session_id, int duration_s);
int csta_encode_stop_session(struct csta_buf *b, const char *session_id);
int csta_encode_system_status_response(struct csta_buf *b);
int csta_encode_request_system_status_response(struct csta_buf *b);
/* A CSTAErrorCode answer (category element, value). */
int csta_encode_error(struct csta_buf *b, const char *category, const char *value);

/* The element name of a request, for logs. */
const char *csta_req_name(int req);

#endif
