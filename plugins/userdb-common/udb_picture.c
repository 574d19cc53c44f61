/*
 * plugins/userdb-common/udb_picture.c - a user's pictures: decodes PNG,
 * JPEG or GIF data with libgd and scales it to the size the clients show
 * (the contact image 96x96, the profile picture 400 px wide), as PNG.
 *
 * The dimensions are read from the file header before anything is decoded:
 * a small compressed file can claim a huge image, and decoding it would
 * take gigabytes. Pictures larger than UDB_PICTURE_MAX_PIXELS are refused.
 *
 * libgd is loaded with dlopen on the first picture, not linked: it pulls in
 * some fifty libraries (HEIF, AVIF, TIFF, WebP codecs ...) that cost about
 * 8 MB of resident memory in every server, also in the many that never
 * store a picture. Without libgd3 installed, set_picture answers -ENOTSUP.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "udb.h"

#ifdef UDB_NO_GD
int udb_picture_scale(const void *data, size_t len, int which, void **png, size_t *png_len)
{
	(void)data, (void)len, (void)which;
	*png = NULL;
	*png_len = 0;
	return -ENOTSUP;
}
#else
#include <gd.h>

#define UDB_GD_SONAME "libgd.so.3"

/* The libgd functions this file uses, resolved from the library once. */
static struct {
	__typeof__(gdImageCreateFromPngPtr) *png_in;
	__typeof__(gdImageCreateFromJpegPtr) *jpeg_in;
	__typeof__(gdImageCreateFromGifPtr) *gif_in;
	__typeof__(gdImageCreateTrueColor) *create;
	__typeof__(gdImageAlphaBlending) *alpha_blending;
	__typeof__(gdImageSaveAlpha) *save_alpha;
	__typeof__(gdImageCopyResampled) *resample;
	__typeof__(gdImagePngPtr) *png_out;
	__typeof__(gdImageDestroy) *destroy;
	__typeof__(gdFree) *free;
} gd;
static pthread_once_t gd_once = PTHREAD_ONCE_INIT;
static int gd_loaded;

/* The handle stays open for the life of the process: the functions may be
 * called from any thread at any time after the first picture. */
static void gd_load(void)
{
	void *h = dlopen(UDB_GD_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return;
	*(void **)&gd.png_in = dlsym(h, "gdImageCreateFromPngPtr");
	*(void **)&gd.jpeg_in = dlsym(h, "gdImageCreateFromJpegPtr");
	*(void **)&gd.gif_in = dlsym(h, "gdImageCreateFromGifPtr");
	*(void **)&gd.create = dlsym(h, "gdImageCreateTrueColor");
	*(void **)&gd.alpha_blending = dlsym(h, "gdImageAlphaBlending");
	*(void **)&gd.save_alpha = dlsym(h, "gdImageSaveAlpha");
	*(void **)&gd.resample = dlsym(h, "gdImageCopyResampled");
	*(void **)&gd.png_out = dlsym(h, "gdImagePngPtr");
	*(void **)&gd.destroy = dlsym(h, "gdImageDestroy");
	*(void **)&gd.free = dlsym(h, "gdFree");
	gd_loaded = gd.png_in && gd.jpeg_in && gd.gif_in && gd.create && gd.alpha_blending &&
		    gd.save_alpha && gd.resample && gd.png_out && gd.destroy && gd.free;
	if (!gd_loaded)
		dlclose(h);
}

#define UDB_PICTURE_MAX_SIDE   16384
#define UDB_PICTURE_MAX_PIXELS (16u * 1024 * 1024)
#define PROFILE_MAX_H	       (4 * UDB_PROFILE_PIC_W) /* taller pictures are cut at the bottom */

enum pic_format { PIC_NONE, PIC_PNG, PIC_JPEG, PIC_GIF };

static uint32_t be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* JPEG: the frame header (SOF0-SOF15 except DHT, JPG, DAC) holds the size. */
static int jpeg_size(const uint8_t *p, size_t len, uint32_t *w, uint32_t *h)
{
	size_t i = 2;

	while (i + 4 <= len) {
		uint8_t marker;
		uint32_t seg;

		if (p[i] != 0xff)
			return -EINVAL;
		marker = p[i + 1];
		if (marker == 0xff) {
			i++;
			continue;
		}
		if (marker == 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker == 0x01) {
			i += 2;
			continue;
		}
		seg = be16(p + i + 2);
		if (seg < 2)
			return -EINVAL;
		if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 &&
		    marker != 0xcc) {
			if (i + 9 > len)
				return -EINVAL;
			*h = be16(p + i + 5);
			*w = be16(p + i + 7);
			return 0;
		}
		i += 2 + seg;
	}
	return -EINVAL;
}

static enum pic_format probe(const uint8_t *p, size_t len, uint32_t *w, uint32_t *h)
{
	static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

	if (len >= 24 && memcmp(p, png_sig, 8) == 0 && memcmp(p + 12, "IHDR", 4) == 0) {
		*w = be32(p + 16);
		*h = be32(p + 20);
		return PIC_PNG;
	}
	if (len >= 10 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0)) {
		*w = (uint32_t)p[6] | (uint32_t)p[7] << 8;
		*h = (uint32_t)p[8] | (uint32_t)p[9] << 8;
		return PIC_GIF;
	}
	if (len >= 4 && p[0] == 0xff && p[1] == 0xd8 && jpeg_size(p, len, w, h) == 0)
		return PIC_JPEG;
	return PIC_NONE;
}

int udb_picture_scale(const void *data, size_t len, int which, void **png, size_t *png_len)
{
	uint32_t w = 0, h = 0;
	enum pic_format fmt;
	gdImagePtr src = NULL, dst = NULL;
	int sx = 0, sy = 0, sw, sh, dw, dh, size = 0;
	void *out = NULL;
	int err = 0;

	*png = NULL;
	*png_len = 0;
	if (!data || !len || len > UDB_PICTURE_IN_MAX || (which != 0 && which != 1))
		return -EINVAL;
	fmt = probe(data, len, &w, &h);
	if (fmt == PIC_NONE || !w || !h || w > UDB_PICTURE_MAX_SIDE || h > UDB_PICTURE_MAX_SIDE ||
	    (uint64_t)w * h > UDB_PICTURE_MAX_PIXELS)
		return -EINVAL;
	pthread_once(&gd_once, gd_load);
	if (!gd_loaded)
		return -ENOTSUP;
	switch (fmt) {
	case PIC_PNG:
		src = gd.png_in((int)len, (void *)(uintptr_t)data);
		break;
	case PIC_JPEG:
		src = gd.jpeg_in((int)len, (void *)(uintptr_t)data);
		break;
	case PIC_GIF:
		src = gd.gif_in((int)len, (void *)(uintptr_t)data);
		break;
	default:
		break;
	}
	if (!src)
		return -EINVAL;
	sw = gdImageSX(src);
	sh = gdImageSY(src);
	if (sw <= 0 || sh <= 0) {
		err = -EINVAL;
		goto out;
	}
	if (which == 0) {
		/* Centre square, then 96x96. */
		int side = sw < sh ? sw : sh;
		sx = (sw - side) / 2;
		sy = (sh - side) / 2;
		sw = sh = side;
		dw = dh = UDB_CONTACT_IMAGE_PX;
	} else {
		long long th = ((long long)sh * UDB_PROFILE_PIC_W + sw / 2) / sw;
		dw = UDB_PROFILE_PIC_W;
		if (th < 1)
			th = 1;
		if (th > PROFILE_MAX_H) {
			th = PROFILE_MAX_H;
			sh = (int)(((long long)sw * PROFILE_MAX_H) / UDB_PROFILE_PIC_W);
			if (sh < 1)
				sh = 1;
		}
		dh = (int)th;
	}
	dst = gd.create(dw, dh);
	if (!dst) {
		err = -ENOMEM;
		goto out;
	}
	gd.alpha_blending(dst, 0);
	gd.save_alpha(dst, 1);
	gd.resample(dst, src, 0, 0, sx, sy, dw, dh, sw, sh);
	out = gd.png_out(dst, &size);
	if (!out || size <= 0) {
		err = -ENOMEM;
		goto out;
	}
	*png = malloc((size_t)size);
	if (!*png) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(*png, out, (size_t)size);
	*png_len = (size_t)size;
out:
	if (out)
		gd.free(out);
	if (dst)
		gd.destroy(dst);
	if (src)
		gd.destroy(src);
	return err;
}
#endif
