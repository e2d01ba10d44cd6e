/* conv_server.c: conv2d, max_pool2d and their gradients with PyTorch CPU semantics,
 * served to `cnnref verify --command ./conv_server` over cnnref's protocol
 * (docs/protocol.md, "Writing a client in another language").
 *
 *   cc -O2 -std=c99 -o conv_server conv_server.c -lm
 *
 * Layout of this file: the four kernels (replace them with yours), then the protocol:
 * a small JSON reader and writer, frames in and out, and the request loop.
 * Every array is NCHW in C order; the kernels compute in double, and results go back
 * in the inputs' dtype, rounded once to nearest even (float64 if any input is float64;
 * float32 for mixed formats; float16 and bfloat16 as themselves).
 *
 * Built with -DPLANT_BUG_TIES_TO_LAST, max pooling routes a tie to the LAST maximum of
 * its window instead of the first: cnnref's own tests check that it notices.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ================================================================== the kernels */

typedef struct {
    long n, c, h, w;  /* a 4-D shape; a 1-D bias uses n only */
    int ndim;         /* 4, or 1 for a bias */
    double *data;     /* C order */
    int dtype;        /* the dtype it came in (and its results go back in): a Dtype */
} Tensor;

enum Dtype { FLOAT64, FLOAT32, FLOAT16, BFLOAT16 };

/* The dtype of a result from inputs of dtypes a and b (NumPy's promotion). */
static int promote(int a, int b) {
    if (a == b) return a;
    return a == FLOAT64 || b == FLOAT64 ? FLOAT64 : FLOAT32;
}

typedef struct { long h, w; } Pair;

typedef struct {
    Pair stride, padding, dilation;
    long groups;
} ConvGeometry;

typedef struct {
    Pair kernel, stride, padding, dilation;
    int ceil_mode;
} PoolGeometry;

static char error_message[512];  /* set by a kernel that refuses its inputs */

static int fail(const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(error_message, sizeof error_message, format, args);
    va_end(args);
    return 0;
}

static double *at(const Tensor *t, long n, long c, long h, long w) {
    return &t->data[((n * t->c + c) * t->h + h) * t->w + w];
}

static Tensor zeros(long n, long c, long h, long w, int dtype) {
    Tensor t = {n, c, h, w, 4, calloc((size_t)(n * c * h * w) + 1, sizeof(double)), dtype};
    return t;
}

static long floor_div(long a, long b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

static long conv_output_size(long size, long k, long s, long p, long d) {
    return floor_div(size + 2 * p - d * (k - 1) - 1, s) + 1;
}

/* PyTorch's pooling output size: in ceil mode the last window must start inside the
 * input or its left padding. */
static long pool_output_size(long size, long k, long s, long p, long d, int ceil_mode) {
    long out = floor_div(size + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0), s) + 1;
    if (ceil_mode && (out - 1) * s >= size + p) out -= 1;
    return out;
}

/* One loop serves the forward and both gradients: every (output, tap) pair that reads an
 * in-bounds input element.  y += x * w forward; dx += dy * w and dw += dy * x backward. */
static int conv_loop(const Tensor *x, const Tensor *w, const ConvGeometry *g, Tensor *y,
                     Tensor *dx, Tensor *dw, const Tensor *dy) {
    long per_group_in = w->c, per_group_out = w->n / g->groups;
    if (g->groups < 1 || x->c != per_group_in * g->groups || w->n % g->groups)
        return fail("x has %ld channels, w has shape (%ld, %ld, %ld, %ld): they do not fit "
                    "groups=%ld", x->c, w->n, w->c, w->h, w->w, g->groups);
    const Tensor *out = y ? y : dy;
    for (long n = 0; n < x->n; n++)
        for (long o = 0; o < w->n; o++)
            for (long i = 0; i < out->h; i++)
                for (long j = 0; j < out->w; j++) {
                    double sum = 0, grad = dy ? *at(dy, n, o, i, j) : 0;
                    for (long c = 0; c < per_group_in; c++) {
                        long channel = (o / per_group_out) * per_group_in + c;
                        for (long kh = 0; kh < w->h; kh++) {
                            long row = i * g->stride.h - g->padding.h + kh * g->dilation.h;
                            if (row < 0 || row >= x->h) continue;
                            for (long kw = 0; kw < w->w; kw++) {
                                long col = j * g->stride.w - g->padding.w + kw * g->dilation.w;
                                if (col < 0 || col >= x->w) continue;
                                if (y) sum += *at(x, n, channel, row, col) * *at(w, o, c, kh, kw);
                                if (dx) *at(dx, n, channel, row, col) += grad * *at(w, o, c, kh, kw);
                                if (dw) *at(dw, o, c, kh, kw) += grad * *at(x, n, channel, row, col);
                            }
                        }
                    }
                    if (y) *at(y, n, o, i, j) += sum;
                }
    return 1;
}

static int conv_output(const Tensor *x, const Tensor *w, const ConvGeometry *g, long *oh,
                       long *ow) {
    *oh = conv_output_size(x->h, w->h, g->stride.h, g->padding.h, g->dilation.h);
    *ow = conv_output_size(x->w, w->w, g->stride.w, g->padding.w, g->dilation.w);
    if (*oh < 1 || *ow < 1) return fail("the kernel does not fit the padded input");
    return 1;
}

int conv2d(const Tensor *x, const Tensor *w, const Tensor *b, const ConvGeometry *g, Tensor *y) {
    long oh, ow;
    if (!conv_output(x, w, g, &oh, &ow)) return 0;
    *y = zeros(x->n, w->n, oh, ow, promote(promote(x->dtype, w->dtype), b ? b->dtype : x->dtype));
    for (long n = 0; n < y->n; n++)
        for (long o = 0; o < y->c; o++)
            for (long k = 0; k < oh * ow; k++) y->data[(n * y->c + o) * oh * ow + k] = b ? b->data[o] : 0;
    return conv_loop(x, w, g, y, NULL, NULL, NULL);
}

int conv2d_backward(const Tensor *dy, const Tensor *x, const Tensor *w, const Tensor *b,
                    const ConvGeometry *g, Tensor *dx, Tensor *dw, Tensor *db) {
    long oh, ow;
    if (!conv_output(x, w, g, &oh, &ow)) return 0;
    if (dy->n != x->n || dy->c != w->n || dy->h != oh || dy->w != ow)
        return fail("dy has shape (%ld, %ld, %ld, %ld); expected (%ld, %ld, %ld, %ld)", dy->n,
                    dy->c, dy->h, dy->w, x->n, w->n, oh, ow);
    int dtype = promote(promote(dy->dtype, x->dtype), promote(w->dtype, b ? b->dtype : w->dtype));
    *dx = zeros(x->n, x->c, x->h, x->w, dtype);
    *dw = zeros(w->n, w->c, w->h, w->w, dtype);
    if (b) {  /* db[o] = the sum of dy over batch, rows and columns */
        *db = zeros(w->n, 1, 1, 1, dtype);
        db->ndim = 1;
        for (long n = 0; n < dy->n; n++)
            for (long o = 0; o < dy->c; o++)
                for (long k = 0; k < oh * ow; k++) db->data[o] += dy->data[(n * dy->c + o) * oh * ow + k];
    }
    return conv_loop(x, w, g, NULL, dx, dw, dy);
}

/* The input element each window routes to, as PyTorch CPU does: walking the window's
 * in-bounds elements in row-major order, an element takes over when it is strictly greater
 * than the best so far, or NaN.  The first maximum wins a tie, the last NaN wins, and a
 * window of -inf keeps its first in-bounds element. */
static long route(const Tensor *x, long n, long c, long i, long j, const PoolGeometry *g) {
    long winner = -1;
    double best = -INFINITY;
    for (long kh = 0; kh < g->kernel.h; kh++) {
        long row = i * g->stride.h - g->padding.h + kh * g->dilation.h;
        if (row < 0 || row >= x->h) continue;
        for (long kw = 0; kw < g->kernel.w; kw++) {
            long col = j * g->stride.w - g->padding.w + kw * g->dilation.w;
            if (col < 0 || col >= x->w) continue;
            double value = *at(x, n, c, row, col);
            long index = at(x, n, c, row, col) - x->data;
            if (winner < 0) winner = index;
#ifdef PLANT_BUG_TIES_TO_LAST
            if (value >= best || isnan(value)) {
#else
            if (value > best || isnan(value)) {
#endif
                best = value;
                winner = index;
            }
        }
    }
    return winner;
}

static int pool_output(const Tensor *x, const PoolGeometry *g, long *oh, long *ow) {
    *oh = pool_output_size(x->h, g->kernel.h, g->stride.h, g->padding.h, g->dilation.h, g->ceil_mode);
    *ow = pool_output_size(x->w, g->kernel.w, g->stride.w, g->padding.w, g->dilation.w, g->ceil_mode);
    if (*oh < 1 || *ow < 1) return fail("the input is too small: no window fits");
    return 1;
}

int max_pool2d(const Tensor *x, const PoolGeometry *g, Tensor *y) {
    long oh, ow;
    if (!pool_output(x, g, &oh, &ow)) return 0;
    *y = zeros(x->n, x->c, oh, ow, x->dtype);
    for (long n = 0; n < x->n; n++)
        for (long c = 0; c < x->c; c++)
            for (long i = 0; i < oh; i++)
                for (long j = 0; j < ow; j++) {
                    long winner = route(x, n, c, i, j, g);
                    if (winner < 0) return fail("window (%ld, %ld) reads only padding", i, j);
                    /* the routed element itself: a -0.0/+0.0 tie keeps the first zero's sign */
                    *at(y, n, c, i, j) = x->data[winner];
                }
    return 1;
}

int max_pool2d_backward(const Tensor *dy, const Tensor *x, const PoolGeometry *g, Tensor *dx) {
    long oh, ow;
    if (!pool_output(x, g, &oh, &ow)) return 0;
    if (dy->n != x->n || dy->c != x->c || dy->h != oh || dy->w != ow)
        return fail("dy has shape (%ld, %ld, %ld, %ld); expected (%ld, %ld, %ld, %ld)", dy->n,
                    dy->c, dy->h, dy->w, x->n, x->c, oh, ow);
    *dx = zeros(x->n, x->c, x->h, x->w, promote(dy->dtype, x->dtype));
    for (long n = 0; n < x->n; n++)
        for (long c = 0; c < x->c; c++)
            for (long i = 0; i < oh; i++)
                for (long j = 0; j < ow; j++) {
                    long winner = route(x, n, c, i, j, g);
                    if (winner < 0) return fail("window (%ld, %ld) reads only padding", i, j);
                    dx->data[winner] += *at(dy, n, c, i, j);  /* overlapping windows add up */
                }
    return 1;
}

/* ================================================================== JSON, just enough */

typedef enum { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT } JsonType;

typedef struct Json {
    JsonType type;
    double number;      /* J_NUMBER, J_BOOL */
    char *string;       /* J_STRING */
    long count;         /* items of J_ARRAY, members of J_OBJECT */
    char **keys;        /* J_OBJECT */
    struct Json *items; /* J_ARRAY, J_OBJECT */
} Json;

typedef struct { const char *at, *end; } Parser;

static void skip_space(Parser *p) {
    while (p->at < p->end && strchr(" \t\r\n", *p->at)) p->at++;
}

static int take(Parser *p, const char *word) {
    size_t length = strlen(word);
    if ((size_t)(p->end - p->at) < length || memcmp(p->at, word, length)) return 0;
    p->at += length;
    return 1;
}

static int parse_value(Parser *p, Json *out, int depth);

static int parse_string(Parser *p, char **out) {
    if (p->at >= p->end || *p->at != '"') return 0;
    char *text = malloc((size_t)(p->end - p->at)), *to = text;
    for (p->at++; p->at < p->end && *p->at != '"'; p->at++) {
        if (*p->at != '\\') { *to++ = *p->at; continue; }
        if (++p->at >= p->end) break;
        switch (*p->at) {
            case 'n': *to++ = '\n'; break;
            case 't': *to++ = '\t'; break;
            case 'r': *to++ = '\r'; break;
            case 'b': *to++ = '\b'; break;
            case 'f': *to++ = '\f'; break;
            case 'u': *to++ = '?'; p->at += 4; break;  /* names we read are ASCII */
            default: *to++ = *p->at;
        }
    }
    *to = 0;
    *out = text;
    if (p->at >= p->end) return 0;
    p->at++;
    return 1;
}

static int parse_items(Parser *p, Json *out, int depth, char close, int with_keys) {
    p->at++;
    skip_space(p);
    if (p->at < p->end && *p->at == close) { p->at++; return 1; }
    for (;;) {
        out->items = realloc(out->items, (size_t)(out->count + 1) * sizeof(Json));
        out->keys = realloc(out->keys, (size_t)(out->count + 1) * sizeof(char *));
        out->keys[out->count] = NULL;
        memset(&out->items[out->count], 0, sizeof(Json));
        skip_space(p);
        if (with_keys) {
            if (!parse_string(p, &out->keys[out->count])) return 0;
            skip_space(p);
            if (!take(p, ":")) return 0;
        }
        if (!parse_value(p, &out->items[out->count++], depth + 1)) return 0;
        skip_space(p);
        if (take(p, ",")) continue;
        if (p->at < p->end && *p->at == close) { p->at++; return 1; }
        return 0;
    }
}

static int parse_value(Parser *p, Json *out, int depth) {
    skip_space(p);
    if (p->at >= p->end || depth > 64) return 0;
    char c = *p->at;
    if (c == '{') { out->type = J_OBJECT; return parse_items(p, out, depth, '}', 1); }
    if (c == '[') { out->type = J_ARRAY; return parse_items(p, out, depth, ']', 0); }
    if (c == '"') { out->type = J_STRING; return parse_string(p, &out->string); }
    if (take(p, "null")) { out->type = J_NULL; return 1; }
    if (take(p, "true")) { out->type = J_BOOL; out->number = 1; return 1; }
    if (take(p, "false")) { out->type = J_BOOL; out->number = 0; return 1; }
    out->type = J_NUMBER;  /* Python's json writes NaN, Infinity and -Infinity too */
    if (take(p, "NaN")) { out->number = NAN; return 1; }
    if (take(p, "Infinity")) { out->number = INFINITY; return 1; }
    if (take(p, "-Infinity")) { out->number = -INFINITY; return 1; }
    char *after;
    out->number = strtod(p->at, &after);
    if (after == p->at) return 0;
    p->at = after;
    return 1;
}

static void json_free(Json *j) {
    for (long i = 0; i < j->count; i++) {
        json_free(&j->items[i]);
        free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
    free(j->string);
}

static Json *member(const Json *object, const char *key) {
    if (!object || object->type != J_OBJECT) return NULL;
    for (long i = 0; i < object->count; i++)
        if (!strcmp(object->keys[i], key)) return &object->items[i];
    return NULL;
}

/* The content of a tagged value: {"tuple": [...]} or {"list": [...]} gives the array. */
static Json *sequence(const Json *value) {
    Json *items = member(value, "tuple");
    return items ? items : member(value, "list");
}

/* ================================================================== frames */

/* The 16-bit formats, as bits: float16 (IEEE binary16: 5 exponent bits, 11 significand
 * bits) and bfloat16 (8 exponent bits, 8 significand bits: the upper half of a float32). */
static const char *DTYPE_NAMES[] = {"<f8", "<f4", "<f2", "bfloat16"};

static void binary16_format(int dtype, int *digits, int *bias) {
    *digits = dtype == FLOAT16 ? 11 : 8;
    *bias = dtype == FLOAT16 ? 15 : 127;
}

static double from_binary16(unsigned bits, int dtype) {
    int digits, bias;
    binary16_format(dtype, &digits, &bias);
    unsigned mantissa = bits & ((1u << (digits - 1)) - 1);
    unsigned exponent = (bits >> (digits - 1)) & ((1u << (16 - digits)) - 1);
    double value;
    if (exponent == 0) value = ldexp(mantissa, 1 - bias - (digits - 1));  /* subnormal */
    else if (exponent == (1u << (16 - digits)) - 1) value = mantissa ? NAN : INFINITY;
    else value = ldexp(mantissa | 1u << (digits - 1), (int)exponent - bias - (digits - 1));
    return bits & 0x8000 ? -value : value;
}

/* A double rounded once, to nearest even, to the 16-bit format (inf past its largest value). */
static uint16_t to_binary16(double value, int dtype) {
    int digits, bias;
    binary16_format(dtype, &digits, &bias);
    uint16_t sign = signbit(value) ? 0x8000 : 0;
    uint16_t infinity = (uint16_t)(((1u << (16 - digits)) - 1) << (digits - 1));
    double magnitude = fabs(value);
    if (isnan(value)) return infinity | 1u << (digits - 2);
    if (magnitude >= ldexp(2 - ldexp(1, -digits), bias)) return sign | infinity;
    if (magnitude < ldexp(1, 1 - bias))  /* subnormal: a multiple of the smallest one */
        return sign | (uint16_t)nearbyint(ldexp(magnitude, bias - 1 + digits - 1));
    int exponent;
    double fraction = frexp(magnitude, &exponent);  /* magnitude = fraction * 2^exponent */
    double significand = nearbyint(ldexp(fraction, digits));  /* 2^(digits-1) .. 2^digits */
    if (significand == ldexp(1, digits)) significand /= 2, exponent++;
    unsigned biased = (unsigned)(exponent - 1 + bias);
    if (biased >= (1u << (16 - digits)) - 1) return sign | infinity;
    return sign | (uint16_t)(biased << (digits - 1) | ((unsigned)significand - (1u << (digits - 1))));
}

typedef struct {
    Json header;
    Tensor *arrays;  /* the header's buffers, as doubles */
    long count;
} Frame;

static int read_exactly(void *into, size_t size) {
    return fread(into, 1, size, stdin) == size;
}

static uint32_t little_endian(const unsigned char *b) {
    return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

/* The next frame from stdin; 0 at the end of input or on bytes that are not a frame. */
static int read_frame(Frame *frame) {
    unsigned char prefix[8];
    memset(frame, 0, sizeof *frame);
    if (!read_exactly(prefix, 8) || memcmp(prefix, "CNNR", 4)) return 0;
    uint32_t length = little_endian(prefix + 4);
    char *text = malloc(length + 1);
    if (!read_exactly(text, length)) return 0;
    Parser parser = {text, text + length};
    int parsed = parse_value(&parser, &frame->header, 0);
    free(text);
    Json *buffers = member(&frame->header, "buffers");
    if (!parsed || !buffers) return 0;
    frame->count = buffers->count;
    frame->arrays = calloc((size_t)buffers->count + 1, sizeof(Tensor));
    for (long k = 0; k < buffers->count; k++) {
        Json *dtype = member(&buffers->items[k], "dtype"), *shape = member(&buffers->items[k], "shape");
        if (!dtype || !shape || shape->type != J_ARRAY) return 0;
        long dims[4] = {1, 1, 1, 1}, size = 1, itemsize = 8;
        for (long d = 0; d < shape->count; d++) {
            size *= (long)shape->items[d].number;
            if (d < 4) dims[d] = (long)shape->items[d].number;
        }
        /* Arrays to us also carry strides, offset and block: the layout the verifier's
         * array had.  The bytes themselves are always in C order, so this client ignores them. */
        Tensor *t = &frame->arrays[k];
        *t = (Tensor){dims[0], dims[1], dims[2], dims[3], (int)shape->count,
                      calloc((size_t)size + 1, sizeof(double)), 0};
        if (!strcmp(dtype->string, "<f4")) t->dtype = FLOAT32, itemsize = 4;
        else if (!strcmp(dtype->string, "<f2")) t->dtype = FLOAT16, itemsize = 2;
        else if (!strcmp(dtype->string, "bfloat16")) t->dtype = BFLOAT16, itemsize = 2;
        else if (strcmp(dtype->string, "<f8")) itemsize = 0;  /* not a float: read, then refuse */
        unsigned char *raw = malloc((size_t)(size * (itemsize ? itemsize : 16)) + 1);
        if (!itemsize) {
            /* an int or complex array: its bytes still have to be read off the pipe */
            static const char *sizes = "|b1 1|i1 1|u1 1<i2 2<u2 2<i4 4<u4 4<i8 8<u8 8<c8 8<c16 16";
            const char *found = strstr(sizes, dtype->string);
            itemsize = found ? atol(found + strlen(dtype->string) + 1) : 0;
            t->data = NULL;  /* the call using it reports a TypeError */
        }
        if (!read_exactly(raw, (size_t)(size * itemsize))) return 0;
        for (long e = 0; t->data && e < size; e++) {
            if (t->dtype == FLOAT32) { float f; memcpy(&f, raw + 4 * e, 4); t->data[e] = f; }
            else if (itemsize == 2) t->data[e] = from_binary16(raw[2 * e] | raw[2 * e + 1] << 8, t->dtype);
            else memcpy(&t->data[e], raw + 8 * e, 8);
        }
        free(raw);
    }
    return 1;
}

static void free_frame(Frame *frame) {
    json_free(&frame->header);
    for (long k = 0; k < frame->count; k++) free(frame->arrays[k].data);
    free(frame->arrays);
}

/* A growing string: the header of the frame being written. */
typedef struct { char *text; size_t length, room; } Text;

static void put(Text *t, const char *format, ...) {
    va_list args;
    for (;;) {
        va_start(args, format);
        int need = vsnprintf(t->text + t->length, t->room - t->length, format, args);
        va_end(args);
        if (t->length + (size_t)need < t->room) { t->length += (size_t)need; return; }
        t->room = 2 * (t->room + (size_t)need);
        t->text = realloc(t->text, t->room);
    }
}

static void put_string(Text *t, const char *s) {
    put(t, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') put(t, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) put(t, "\\u%04x", *s);
        else put(t, "%c", *s);
    }
    put(t, "\"");
}

/* The arrays a reply carries: described in its header, then their bytes after it. */
typedef struct { const Tensor *arrays[16]; int count; } Outgoing;

/* Writes {"array": k} into the header and queues the tensor; null for no tensor. */
static void put_array(Text *t, Outgoing *out, const Tensor *tensor) {
    if (!tensor || !tensor->data) { put(t, "null"); return; }
    out->arrays[out->count] = tensor;
    put(t, "{\"array\": %d}", out->count++);
}

static void write_frame(Text *t, const Outgoing *out) {
    put(t, ", \"buffers\": [");
    for (int k = 0; k < out->count; k++) {
        const Tensor *a = out->arrays[k];
        long dims[4] = {a->n, a->c, a->h, a->w};
        put(t, "%s{\"dtype\": \"%s\", \"shape\": [", k ? ", " : "", DTYPE_NAMES[a->dtype]);
        for (int d = 0; d < a->ndim && d < 4; d++) put(t, d ? ", %ld" : "%ld", dims[d]);
        put(t, "]}");
    }
    put(t, "]}");
    unsigned char prefix[8] = {'C', 'N', 'N', 'R'};
    for (int b = 0; b < 4; b++) prefix[4 + b] = (unsigned char)(t->length >> (8 * b));
    fwrite(prefix, 1, 8, stdout);
    fwrite(t->text, 1, t->length, stdout);
    for (int k = 0; k < out->count; k++) {
        const Tensor *a = out->arrays[k];
        long size = a->n * a->c * a->h * a->w;
        for (long e = 0; e < size; e++) {
            if (a->dtype == FLOAT32) { float f = (float)a->data[e]; fwrite(&f, 4, 1, stdout); }
            else if (a->dtype == FLOAT64) fwrite(&a->data[e], 8, 1, stdout);
            else {
                uint16_t bits = to_binary16(a->data[e], a->dtype);
                unsigned char bytes[2] = {(unsigned char)bits, (unsigned char)(bits >> 8)};
                fwrite(bytes, 1, 2, stdout);
            }
        }
    }
    fflush(stdout);
    t->length = 0;
}

/* ================================================================== requests */

/* A geometry argument: an int, or a pair as {"tuple": [h, w]}; missing: the default. */
static Pair pair_of(const Json *kwargs, const char *name, long fallback) {
    Json *value = member(kwargs, name), *items = sequence(value);
    if (items && items->count == 2) return (Pair){(long)items->items[0].number, (long)items->items[1].number};
    if (value && value->type == J_NUMBER) return (Pair){(long)value->number, (long)value->number};
    return (Pair){fallback, fallback};
}

/* Positional argument `position` of a call: a tensor, or NULL for None or a missing one. */
static const Tensor *argument(const Frame *frame, const Json *args, long position) {
    Json *index = position < args->count ? member(&args->items[position], "array") : NULL;
    if (!index || index->number < 0 || index->number >= frame->count) return NULL;
    return &frame->arrays[(long)index->number];
}

static void send_raised(Text *t, long id, const char *error_type, const char *message) {
    put(t, "{\"op\": \"raised\", \"id\": %ld, \"error_type\": ", id);
    put_string(t, error_type);
    put(t, ", \"message\": ");
    put_string(t, message);
    put(t, ", \"traceback\": \"\", \"values\": {}");
    Outgoing none = {0};
    write_frame(t, &none);
}

/* One call: compute, then reply "returned" (or "raised"); returns 0 if it raised. */
static int serve(const Frame *frame, const char *function, long id, const Json *args,
                 const Json *kwargs, int echo, Text *t) {
    const Tensor *input[4] = {0};
    for (long k = 0; k < 4; k++) {
        input[k] = argument(frame, args, k);
        if (input[k] && !input[k]->data) {
            send_raised(t, id, "TypeError", "only float64, float32, float16 and bfloat16 arrays are supported");
            return 0;
        }
    }
    Tensor result[3] = {0};
    int ok, outputs = 1;
    ConvGeometry conv = {pair_of(kwargs, "stride", 1), pair_of(kwargs, "padding", 0),
                         pair_of(kwargs, "dilation", 1), 1};
    Json *groups = member(kwargs, "groups");
    if (groups && groups->type == J_NUMBER) conv.groups = (long)groups->number;
    Pair kernel = pair_of(kwargs, "kernel_size", 0);
    Json *stride = member(kwargs, "stride"), *ceil_mode = member(kwargs, "ceil_mode");
    PoolGeometry pool = {kernel, (!stride || stride->type == J_NULL) ? kernel : pair_of(kwargs, "stride", 1),
                         pair_of(kwargs, "padding", 0), pair_of(kwargs, "dilation", 1),
                         ceil_mode && ceil_mode->number != 0};
    const Tensor *first = input[0], *second = input[1];
    /* arrays every function needs: x; w or x; and w for conv2d_backward (b may be None) */
    long needed = !strcmp(function, "max_pool2d") ? 1 : !strcmp(function, "conv2d_backward") ? 3 : 2;
    error_message[0] = 0;
    if (!first || (needed > 1 && !second) || (needed > 2 && !input[2]))
        ok = fail("%s needs %ld array arguments", function, needed);
    else if (!strcmp(function, "conv2d"))
        ok = conv2d(first, second, input[2], &conv, &result[0]);
    else if (!strcmp(function, "conv2d_backward"))
        outputs = 3, ok = conv2d_backward(first, second, input[2], input[3], &conv, &result[0], &result[1], &result[2]);
    else if (!strcmp(function, "max_pool2d"))
        ok = max_pool2d(first, &pool, &result[0]);
    else if (!strcmp(function, "max_pool2d_backward"))
        ok = max_pool2d_backward(first, second, &pool, &result[0]);
    else {
        send_raised(t, id, "NotImplementedError", "this client does not implement that function");
        return 0;
    }
    if (!ok) {
        send_raised(t, id, "ValueError", error_message);
        for (int k = 0; k < 3; k++) free(result[k].data);
        return 0;
    }
    Outgoing out = {0};
    put(t, "{\"op\": \"returned\", \"id\": %ld, \"shared\": [], \"values\": {\"value\": ", id);
    if (outputs == 1) put_array(t, &out, &result[0]);
    else {
        put(t, "{\"tuple\": [");
        put_array(t, &out, &result[0]);
        put(t, ", ");
        put_array(t, &out, &result[1]);
        put(t, ", ");
        put_array(t, &out, &result[2]);
        put(t, "]}");
    }
    if (echo) {  /* the arguments as the call left them: the verifier checks they are unchanged */
        put(t, ", \"inputs\": {\"list\": [");
        for (long k = 0; k < args->count && k < 4; k++) {
            put(t, k ? ", " : "");
            put_array(t, &out, input[k]);
        }
        put(t, "]}");
    }
    put(t, "}");
    write_frame(t, &out);
    for (int k = 0; k < 3; k++) free(result[k].data);
    return 1;
}

int main(void) {
    Text t = {malloc(4096), 0, 4096};
    /* The handshake: the functions this program implements, and the features it does not
     * support (never drawn): none here. */
    put(&t, "{\"op\": \"ready\", \"functions\": [\"conv2d\", \"conv2d_backward\", \"max_pool2d\", "
            "\"max_pool2d_backward\"], \"unsupported\": [], \"values\": {}");
    Outgoing none = {0};
    write_frame(&t, &none);
    Frame frame;
    while (read_frame(&frame)) {
        Json *op = member(&frame.header, "op");
        if (!op || op->type != J_STRING || strcmp(op->string, "calls")) break;  /* exit, or unknown */
        Json *values = member(&frame.header, "values");
        Json *args = sequence(member(values, "args")), *kwargs = sequence(member(values, "kwargs"));
        Json *function = member(&frame.header, "function"), *echo = member(&frame.header, "echo");
        Json *id = member(&frame.header, "id");
        if (!function || function->type != J_STRING || !id) break;
        for (long k = 0; args && kwargs && k < args->count && k < kwargs->count; k++) {
            /* each call: a {"tuple": [...]} of positional arguments, a {"dict": {...}} of keywords */
            if (!serve(&frame, function->string, (long)id->number + k, sequence(&args->items[k]),
                       member(&kwargs->items[k], "dict"), echo && echo->number != 0, &t))
                break;  /* the first call that raises ends the batch */
        }
        free_frame(&frame);
    }
    free_frame(&frame);
    return 0;
}
